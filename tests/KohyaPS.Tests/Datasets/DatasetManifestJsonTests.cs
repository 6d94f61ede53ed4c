using System.Text.Json.Nodes;
using KohyaPS.Contracts;
using KohyaPS.Engine;
using KohyaPS.Engine.Datasets;
using KohyaPS.Tests.Data;
using static KohyaPS.Tests.Datasets.DatasetTestSupport;

namespace KohyaPS.Tests.Datasets;

public sealed class DatasetManifestJsonTests : IDisposable
{
    private readonly TempDirectory _tmp = new();
    private readonly KohyaDatasetManifest _manifest;
    private readonly string _json;

    public DatasetManifestJsonTests()
    {
        string data = Demo(_tmp, count: 4);
        File.WriteAllText(Path.Combine(Shapes(data), "0002.txt"), "a caption, with \"quotes\", ünïcödé and\ttabs");
        _manifest = Manifest(data);
        _json = DatasetManifestJson.Serialize(_manifest);
    }

    public void Dispose() => _tmp.Dispose();

    private static string Edit(string json, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        edit(node);
        return node.ToJsonString();
    }

    private static string Fails(string json) =>
        Assert.Throws<KohyaException>(() => DatasetManifestJson.Parse(json, "test.json")).ErrorId;

    [Fact]
    public void RoundTripKeepsEveryValue()
    {
        var back = DatasetManifestJson.Parse(_json, "test.json");
        Assert.Equal(_json, DatasetManifestJson.Serialize(back));
        Assert.Equal(_manifest.ManifestHash, back.ManifestHash);
        Assert.Equal(_manifest.Images.Select(i => (i.Path, i.Sha256, i.Caption, i.Bucket)), back.Images.Select(i => (i.Path, i.Sha256, i.Caption, i.Bucket)));
        Assert.Equal(_manifest.Summary.TagFrequency["10_shapes"], back.Summary.TagFrequency["10_shapes"]);
        Assert.Equal(_manifest.CreatedUtc, back.CreatedUtc);

        var node = JsonNode.Parse(_json)!;
        Assert.Equal("kohyaps-dataset-manifest", (string?)node["format"]);
        Assert.Equal(1, (int?)node["formatVersion"]);
        Assert.NotNull(node["summary"]!["tagFrequency"]!["10_shapes"]); // kohya's ss_tag_frequency shape: folder -> tag -> count
    }

    [Fact]
    public void WriteAndLoadFromFileOrCheckpointFolder()
    {
        string file = _tmp.Combine("m.json");
        DatasetManifestJson.Write(_manifest, file);
        Assert.Equal(_manifest.ManifestHash, DatasetManifestJson.Load(file).ManifestHash);
        string checkpoint = _tmp.Folder("run", "checkpoints", "run-s00000002");
        File.Copy(file, Path.Combine(checkpoint, "dataset.json"));
        Assert.Equal(_manifest.ManifestHash, DatasetManifestJson.Load(checkpoint).ManifestHash);
        Assert.Equal(DatasetManifestErrors.ManifestNotFound,
            Assert.Throws<KohyaException>(() => DatasetManifestJson.Load(_tmp.Combine("missing.json"))).ErrorId);
    }

    [Fact]
    public void SyntaxFormatAndVersionErrorsHaveTheirOwnIds()
    {
        Assert.Equal(DatasetManifestErrors.ManifestSyntax, Fails("{ \"format\": "));
        Assert.Equal(DatasetManifestErrors.ManifestFormatUnknown, Fails("[1, 2]"));
        Assert.Equal(DatasetManifestErrors.ManifestFormatUnknown, Fails(Edit(_json, o => o["format"] = "kohyaps-checkpoint")));
        // What checkpoints held before manifests: a plain file list without a format.
        Assert.Equal(DatasetManifestErrors.ManifestFormatUnknown, Fails("""{ "source": "/data", "kind": "DreamBoothFolder", "images": [] }"""));
        Assert.False(DatasetManifestJson.IsManifest("""{ "source": "/data" }"""));
        Assert.True(DatasetManifestJson.IsManifest(_json));
        Assert.Equal(DatasetManifestErrors.ManifestVersionUnsupported, Fails(Edit(_json, o => o["formatVersion"] = 2)));
        Assert.Equal(DatasetManifestErrors.ManifestVersionUnsupported, Fails(Edit(_json, o => o["formatVersion"] = 0)));
        Assert.Equal(DatasetManifestErrors.ManifestInvalid, Fails(Edit(_json, o => o["formatVersion"] = "1")));
    }

    [Theory]
    [InlineData("missing property")]
    [InlineData("unknown property")]
    [InlineData("wrong type")]
    [InlineData("null string")]
    [InlineData("bad subset")]
    [InlineData("bad sha")]
    [InlineData("wrong bucket")]
    [InlineData("duplicate property")]
    public void SchemaViolationsAreInvalid(string violation)
    {
        string json = violation switch
        {
            "missing property" => Edit(_json, o => o["images"]![0]!.AsObject().Remove("bucket")),
            "unknown property" => Edit(_json, o => o["images"]![0]!["colour"] = "red"),
            "wrong type" => Edit(_json, o => o["images"]![0]!["width"] = "16"),
            "null string" => Edit(_json, o => o["images"]![0]!["caption"] = null),
            "bad subset" => Edit(_json, o => o["images"]![0]!["subset"] = 3),
            "bad sha" => Edit(_json, o => o["images"]![0]!["sha256"] = "XYZ"),
            "wrong bucket" => Edit(_json, o => o["images"]![0]!["bucket"] = "8x8"),
            _ => _json.Replace("\"formatVersion\": 1,", "\"formatVersion\": 1, \"formatVersion\": 1,", StringComparison.Ordinal),
        };
        Assert.NotEqual(_json, json);
        var ex = Assert.Throws<KohyaException>(() => DatasetManifestJson.Parse(json, "test.json"));
        Assert.Equal(DatasetManifestErrors.ManifestInvalid, ex.ErrorId);
        Assert.Contains("test.json", ex.Message);
    }

    [Fact]
    public void InvalidMessagesNameThePlace()
    {
        string json = Edit(_json, o => o["images"]![2]!["width"] = "16");
        var ex = Assert.Throws<KohyaException>(() => DatasetManifestJson.Parse(json, "test.json"));
        Assert.Contains("$.images[2].width", ex.Message);
    }

    [Fact]
    public void EditedContentFailsTheHashes()
    {
        string sha = new('0', 64);
        Assert.Equal(DatasetManifestErrors.ManifestHashMismatch, Fails(Edit(_json, o => o["images"]![1]!["sha256"] = sha)));
        Assert.Equal(DatasetManifestErrors.ManifestHashMismatch, Fails(Edit(_json, o => o["images"]![1]!["caption"] = "something else")));
        Assert.Equal(DatasetManifestErrors.ManifestHashMismatch, Fails(Edit(_json, o => o["preprocessing"]!["batchSize"] = 3)));
        Assert.Equal(DatasetManifestErrors.ManifestHashMismatch, Fails(Edit(_json, o => o["manifestHash"] = sha)));
        Assert.Equal(DatasetManifestErrors.ManifestHashMismatch, Fails(Edit(_json, o => o["contentHash"] = sha)));
        Assert.Equal(DatasetManifestErrors.ManifestInvalid, Fails(Edit(_json, o => o["summary"]!["imageCount"] = 5)));
        Assert.Equal(DatasetManifestErrors.ManifestInvalid, Fails(Edit(_json, o => o["summary"]!["tagFrequency"]!["10_shapes"]!.AsObject().Add("extra", 1))));
        // Fields that are not hashed may change: where the dataset was and when the manifest was made.
        var moved = DatasetManifestJson.Parse(Edit(_json, o => { o["source"] = "/elsewhere"; o["createdUtc"] = "2020-01-01T00:00:00Z"; }), "test.json");
        Assert.Equal("/elsewhere", moved.Source);
    }
}
