using Tomlyn;
using Tomlyn.Model;
using static KohyaPS.Engine.Data.DatasetTomlKeys;

namespace KohyaPS.Engine.Data;

/// <summary>
/// Reads a kohya dataset TOML: <c>[general]</c> → <c>[[datasets]]</c> → <c>[[datasets.subsets]]</c>, each value
/// inherited downward (a subset uses its own value, else its dataset's, else [general]'s, else the default).
/// Unknown keys and wrongly typed values are errors naming the key and the section; nothing is guessed.
/// </summary>
/// <remarks>
/// KohyaPS trains one dataset at a time: several <c>[[datasets]]</c> are merged into one when their dataset
/// settings (resolution, batch size, buckets) resolve to the same values, and refused otherwise.
/// Relative <c>image_dir</c> paths resolve against the TOML file's folder, which is also the root of the index's
/// relative paths.
/// </remarks>
public static class DatasetTomlReader
{
    public static DatasetDefinition Read(string tomlPath)
    {
        string full = Path.GetFullPath(tomlPath);
        if (!File.Exists(full))
            throw DatasetErrors.NotFound(full, "dataset configuration file");
        string text = File.ReadAllText(full);
        return Parse(text, Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory(), full);
    }

    /// <summary>Parses TOML text; <paramref name="baseDirectory"/> anchors relative image_dir paths.</summary>
    public static DatasetDefinition Parse(string tomlText, string baseDirectory, string sourceName = "dataset.toml")
    {
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(tomlText) ?? new TomlTable();
        }
        catch (TomlException ex)
        {
            throw DatasetErrors.Syntax(sourceName, ex.Message, ex);
        }

        TomlTable general = new();
        IReadOnlyList<TomlTable> datasets = Array.Empty<TomlTable>();
        foreach (var (key, value) in root)
        {
            if (key == "general")
                general = value as TomlTable ?? throw DatasetErrors.InvalidValue(key, "top level", sourceName, "a table", value);
            else if (key == "datasets")
                datasets = Tables(value, key, "top level", sourceName);
            else
                throw DatasetErrors.UnknownKey(key, "top level", sourceName);
        }
        CheckKeys(general, Level.General, "general", sourceName);
        if (datasets.Count == 0)
            throw DatasetErrors.Empty(sourceName, "It defines no [[datasets]].");

        string baseDir = Path.GetFullPath(baseDirectory);
        DatasetSettings? settings = null;
        var subsets = new List<DatasetSubset>();
        for (int d = 0; d < datasets.Count; d++)
        {
            string dSection = $"datasets[{d}]";
            var dataset = datasets[d];
            IReadOnlyList<TomlTable> subsetTables = Array.Empty<TomlTable>();
            foreach (var (key, value) in dataset)
            {
                if (key == "subsets")
                    subsetTables = Tables(value, key, dSection, sourceName);
                else
                    Check(key, value, Level.Dataset, dSection, sourceName);
            }
            if (subsetTables.Count == 0)
                throw DatasetErrors.Empty(sourceName, $"[{dSection}] has no [[datasets.subsets]].");

            var these = ResolveDataset(new[] { (dataset, dSection), (general, "general") }, sourceName);
            these.Validate(sourceName, dSection);
            if (settings is null)
                settings = these;
            else if (settings != these)
                throw DatasetErrors.Unsupported("datasets", dSection, sourceName,
                    "datasets with different resolution, batch size or bucket settings cannot be trained together; "
                    + "give them the same dataset settings or train them separately.");

            for (int s = 0; s < subsetTables.Count; s++)
            {
                string sSection = $"{dSection}.subsets[{s}]";
                CheckKeys(subsetTables[s], Level.Subset, sSection, sourceName);
                var chain = new[] { (subsetTables[s], sSection), (dataset, dSection), (general, "general") };
                subsets.Add(ResolveSubset(chain, baseDir, sourceName));
            }
        }

        return new DatasetDefinition(Path.GetFullPath(sourceName, baseDir), DatasetSourceKind.Toml, baseDir, settings!, subsets);
    }

    private static void CheckKeys(TomlTable table, Level level, string section, string source)
    {
        foreach (var (key, value) in table)
            Check(key, value, level, section, source);
    }

    private static IReadOnlyList<TomlTable> Tables(object value, string key, string section, string source) => value switch
    {
        TomlTableArray ta => ta.ToList(),
        TomlArray a when a.All(x => x is TomlTable) => a.Cast<TomlTable>().ToList(),
        _ => throw DatasetErrors.InvalidValue(key, section, source, "an array of tables ([[" + key + "]])", value),
    };

    /// <summary>The first table in the chain that has the key wins; returns that value and its section.</summary>
    private static (object Value, string Section)? Find((TomlTable Table, string Section)[] chain, string key)
    {
        foreach (var (table, section) in chain)
        {
            if (table.TryGetValue(key, out object? v) && v is not null)
                return (v, section);
        }
        return null;
    }

    private static DatasetSettings ResolveDataset((TomlTable, string)[] chain, string src)
    {
        var s = new DatasetSettings();
        if (Find(chain, "resolution") is (object rv, string rs))
        {
            var (w, h) = Resolution("resolution", rv, rs, src);
            s = s with { Width = w, Height = h };
        }
        if (Find(chain, "batch_size") is (object bv, string bs))
            s = s with { BatchSize = Int("batch_size", bv, bs, src, min: 1) };
        if (Find(chain, "enable_bucket") is (object ev, string es))
            s = s with { EnableBucket = Bool("enable_bucket", ev, es, src) };
        if (Find(chain, "min_bucket_reso") is (object minv, string mins))
            s = s with { MinBucketReso = Int("min_bucket_reso", minv, mins, src, min: 1) };
        if (Find(chain, "max_bucket_reso") is (object maxv, string maxs))
            s = s with { MaxBucketReso = Int("max_bucket_reso", maxv, maxs, src, min: 1) };
        if (Find(chain, "bucket_reso_steps") is (object stv, string sts))
            s = s with { BucketResoSteps = Int("bucket_reso_steps", stv, sts, src, min: 1) };
        if (Find(chain, "bucket_no_upscale") is (object nv, string ns))
            s = s with { BucketNoUpscale = Bool("bucket_no_upscale", nv, ns, src) };
        return s;
    }

    private static DatasetSubset ResolveSubset((TomlTable, string)[] chain, string baseDir, string src)
    {
        string section = chain[0].Item2;
        if (Find(chain, "image_dir") is not (object dirValue, string dirSection))
            throw DatasetErrors.InvalidValue("image_dir", section, src, "a folder path", null);
        string dir = String("image_dir", dirValue, dirSection, src);
        if (dir.Length == 0)
            throw DatasetErrors.InvalidValue("image_dir", dirSection, src, "a folder path", dir);

        var s = new SubsetSettings();
        if (Find(chain, "num_repeats") is (object rv, string rs))
            s = s with { NumRepeats = Int("num_repeats", rv, rs, src, min: 1) };
        if (Find(chain, "caption_extension") is (object cv, string cs))
            s = s with { CaptionExtension = SubsetSettings.NormalizeExtension(String("caption_extension", cv, cs, src)) };
        if (Find(chain, "shuffle_caption") is (object shv, string shs))
            s = s with { ShuffleCaption = Bool("shuffle_caption", shv, shs, src) };
        if (Find(chain, "keep_tokens") is (object kv, string ks))
            s = s with { KeepTokens = Int("keep_tokens", kv, ks, src) };
        if (Find(chain, "flip_aug") is (object fv, string fs))
            s = s with { FlipAug = Bool("flip_aug", fv, fs, src) };
        if (Find(chain, "color_aug") is (object cav, string cas))
            s = s with { ColorAug = Bool("color_aug", cav, cas, src) };
        if (Find(chain, "random_crop") is (object rcv, string rcs))
            s = s with { RandomCrop = Bool("random_crop", rcv, rcs, src) };
        if (Find(chain, "caption_dropout_rate") is (object dv, string ds))
            s = s with { CaptionDropoutRate = Rate("caption_dropout_rate", dv, ds, src) };
        if (Find(chain, "is_reg") is (object iv, string iss))
            s = s with { IsReg = Bool("is_reg", iv, iss, src) };
        if (Find(chain, "class_tokens") is (object tv, string ts))
        {
            string tokens = String("class_tokens", tv, ts, src);
            s = s with { ClassTokens = tokens.Length == 0 ? null : tokens };
        }
        s.Validate(src, section);
        return new DatasetSubset(Path.GetFullPath(dir, baseDir), s);
    }
}
