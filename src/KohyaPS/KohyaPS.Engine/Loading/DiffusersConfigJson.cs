using System.Text.Json;
using System.Text.Json.Nodes;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Models.Vae;

namespace KohyaPS.Engine.Loading;

/// <summary>
/// The <c>config.json</c> files of a diffusers folder (<c>unet/</c>, <c>vae/</c>, <c>text_encoder/</c>) read into
/// our configs and written from them. Keys we do not model are ignored when they hold SD1.x's values and refused
/// ("UnsupportedModelConfig") when they ask for something else (linear transformer projections, a non-SiLU
/// activation, other block types, a non-CLIP text activation); malformed files give "InvalidModelConfigFile".
/// </summary>
public static class DiffusersConfigJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static UNetConfig ReadUNet(string path)
    {
        var o = Load(path);
        Expect(path, o, "use_linear_projection", false);
        Expect(path, o, "act_fn", "silu");
        Expect(path, o, "center_input_sample", false);
        var levels = IntList(path, o, "block_out_channels");
        var heads = o["num_attention_heads"] is JsonNode h && h.GetValueKind() != JsonValueKind.Null
            ? IntOrList(path, o, "num_attention_heads", levels.Length)
            : IntOrList(path, o, "attention_head_dim", levels.Length);
        return new UNetConfig
        {
            InChannels = Int(path, o, "in_channels"),
            OutChannels = Int(path, o, "out_channels"),
            SampleSize = Int(path, o, "sample_size"),
            BlockOutChannels = levels,
            LayersPerBlock = Int(path, o, "layers_per_block"),
            DownBlockTypes = Names(path, o, "down_block_types").Select(n => Parse<DownBlockType>(path, "down_block_types", n)).ToArray(),
            UpBlockTypes = Names(path, o, "up_block_types").Select(n => Parse<UpBlockType>(path, "up_block_types", n)).ToArray(),
            AttentionHeads = heads,
            CrossAttentionDim = Int(path, o, "cross_attention_dim"),
            NormNumGroups = OptionalInt(path, o, "norm_num_groups") ?? 32,
            NormEps = OptionalDouble(path, o, "norm_eps") ?? 1e-5,
            TransformerLayersPerBlock = OptionalInt(path, o, "transformer_layers_per_block") ?? 1,
        };
    }

    public static VaeConfig ReadVae(string path)
    {
        var o = Load(path);
        Expect(path, o, "act_fn", "silu");
        foreach (string n in Names(path, o, "down_block_types"))
            Require(path, n == "DownEncoderBlock2D", "UnsupportedModelConfig", $"down_block_types holds '{n}'; only DownEncoderBlock2D is supported.");
        foreach (string n in Names(path, o, "up_block_types"))
            Require(path, n == "UpDecoderBlock2D", "UnsupportedModelConfig", $"up_block_types holds '{n}'; only UpDecoderBlock2D is supported.");
        return new VaeConfig
        {
            InChannels = Int(path, o, "in_channels"),
            OutChannels = Int(path, o, "out_channels"),
            LatentChannels = Int(path, o, "latent_channels"),
            BlockOutChannels = IntList(path, o, "block_out_channels"),
            LayersPerBlock = Int(path, o, "layers_per_block"),
            NormNumGroups = OptionalInt(path, o, "norm_num_groups") ?? 32,
            ScalingFactor = OptionalDouble(path, o, "scaling_factor") ?? 0.18215,
        };
    }

    public static TextEncoderConfig ReadTextEncoder(string path)
    {
        var o = Load(path);
        Expect(path, o, "hidden_act", "quick_gelu");
        return new TextEncoderConfig
        {
            VocabSize = Int(path, o, "vocab_size"),
            MaxLength = Int(path, o, "max_position_embeddings"),
            Width = Int(path, o, "hidden_size"),
            Layers = Int(path, o, "num_hidden_layers"),
            Heads = Int(path, o, "num_attention_heads"),
            IntermediateSize = Int(path, o, "intermediate_size"),
            LayerNormEps = OptionalDouble(path, o, "layer_norm_eps") ?? 1e-5,
        };
    }

    public static string Write(UNetConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return Serialize(new JsonObject
        {
            ["_class_name"] = "UNet2DConditionModel",
            ["in_channels"] = c.InChannels,
            ["out_channels"] = c.OutChannels,
            ["sample_size"] = c.SampleSize,
            ["block_out_channels"] = Array(c.BlockOutChannels),
            ["layers_per_block"] = c.LayersPerBlock,
            ["down_block_types"] = Array(c.DownBlockTypes.Select(t => t.ToString())),
            ["up_block_types"] = Array(c.UpBlockTypes.Select(t => t.ToString())),
            ["attention_head_dim"] = Array(c.AttentionHeads),
            ["cross_attention_dim"] = c.CrossAttentionDim,
            ["norm_num_groups"] = c.NormNumGroups,
            ["norm_eps"] = c.NormEps,
            ["transformer_layers_per_block"] = c.TransformerLayersPerBlock,
            ["use_linear_projection"] = false,
            ["act_fn"] = "silu",
            ["flip_sin_to_cos"] = true,
            ["freq_shift"] = 0,
        });
    }

    public static string Write(VaeConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return Serialize(new JsonObject
        {
            ["_class_name"] = "AutoencoderKL",
            ["in_channels"] = c.InChannels,
            ["out_channels"] = c.OutChannels,
            ["latent_channels"] = c.LatentChannels,
            ["block_out_channels"] = Array(c.BlockOutChannels),
            ["layers_per_block"] = c.LayersPerBlock,
            ["down_block_types"] = Array(c.BlockOutChannels.Select(_ => "DownEncoderBlock2D")),
            ["up_block_types"] = Array(c.BlockOutChannels.Select(_ => "UpDecoderBlock2D")),
            ["norm_num_groups"] = c.NormNumGroups,
            ["scaling_factor"] = c.ScalingFactor,
            ["act_fn"] = "silu",
        });
    }

    public static string Write(TextEncoderConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return Serialize(new JsonObject
        {
            ["architectures"] = Array(new[] { "CLIPTextModel" }),
            ["model_type"] = "clip_text_model",
            ["vocab_size"] = c.VocabSize,
            ["max_position_embeddings"] = c.MaxLength,
            ["hidden_size"] = c.Width,
            ["num_hidden_layers"] = c.Layers,
            ["num_attention_heads"] = c.Heads,
            ["intermediate_size"] = c.IntermediateSize,
            ["layer_norm_eps"] = c.LayerNormEps,
            ["hidden_act"] = "quick_gelu",
        });
    }

    private static string Serialize(JsonObject o) => o.ToJsonString(Indented);

    private static JsonArray Array<T>(IEnumerable<T> items) => new(items.Select(i => JsonValue.Create(i)).ToArray<JsonNode?>());

    private static JsonObject Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new KohyaException("ModelFileMissing", KohyaErrorKind.ObjectNotFound, $"'{path}' does not exist.", target: path)
            {
                RecommendedAction = "Point at a complete diffusers model folder (unet/, vae/, text_encoder/, tokenizer/ with their config.json).",
            };
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                   ?? throw Invalid(path, "the file is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw Invalid(path, ex.Message, ex);
        }
    }

    private static int Int(string path, JsonObject o, string key) =>
        OptionalInt(path, o, key) ?? throw Invalid(path, $"'{key}' is missing.");

    private static int? OptionalInt(string path, JsonObject o, string key)
    {
        var node = o[key];
        if (node is null || node.GetValueKind() == JsonValueKind.Null)
            return null;
        return node is JsonValue v && v.TryGetValue(out int i) ? i : throw Invalid(path, $"'{key}' must be an integer, not {node.ToJsonString()}.");
    }

    private static double? OptionalDouble(string path, JsonObject o, string key)
    {
        var node = o[key];
        if (node is null || node.GetValueKind() == JsonValueKind.Null)
            return null;
        return node is JsonValue v && v.TryGetValue(out double d) ? d : throw Invalid(path, $"'{key}' must be a number, not {node.ToJsonString()}.");
    }

    private static int[] IntList(string path, JsonObject o, string key) =>
        o[key] is JsonArray a && a.All(n => n is JsonValue v && v.TryGetValue(out int _))
            ? a.Select(n => n!.GetValue<int>()).ToArray()
            : throw Invalid(path, $"'{key}' must be a list of integers.");

    private static int[] IntOrList(string path, JsonObject o, string key, int count) =>
        o[key] is JsonArray ? IntList(path, o, key) : Enumerable.Repeat(Int(path, o, key), count).ToArray();

    private static string[] Names(string path, JsonObject o, string key) =>
        o[key] is JsonArray a && a.All(n => n is JsonValue v && v.TryGetValue(out string? _))
            ? a.Select(n => n!.GetValue<string>()).ToArray()
            : throw Invalid(path, $"'{key}' must be a list of block type names.");

    private static T Parse<T>(string path, string key, string name) where T : struct, Enum =>
        Enum.TryParse<T>(name, ignoreCase: false, out var value) && Enum.IsDefined(value)
            ? value
            : throw new KohyaException("UnsupportedModelConfig", KohyaErrorKind.NotImplemented,
                $"'{path}': {key} holds '{name}'; supported: {string.Join(", ", Enum.GetNames<T>())}.", target: path);

    private static void Expect(string path, JsonObject o, string key, object expected)
    {
        var node = o[key];
        if (node is null || node.GetValueKind() == JsonValueKind.Null)
            return;
        string actual = node.ToJsonString();
        string want = JsonSerializer.Serialize(expected);
        Require(path, actual == want, "UnsupportedModelConfig",
            $"'{key}' is {actual}; this version supports only {want} (Stable Diffusion 1.x).");
    }

    private static void Require(string path, bool condition, string id, string problem)
    {
        if (!condition)
            throw new KohyaException(id, id == "UnsupportedModelConfig" ? KohyaErrorKind.NotImplemented : KohyaErrorKind.InvalidData,
                $"'{path}': {problem}", target: path)
            {
                RecommendedAction = "Use a Stable Diffusion 1.x model folder in diffusers layout.",
            };
    }

    private static KohyaException Invalid(string path, string problem, Exception? inner = null) =>
        new("InvalidModelConfigFile", KohyaErrorKind.InvalidData, $"'{path}': {problem}", inner, path)
        {
            RecommendedAction = "Restore the model's config.json as shipped with it.",
        };
}
