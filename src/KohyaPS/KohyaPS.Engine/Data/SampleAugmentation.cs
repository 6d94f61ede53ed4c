namespace KohyaPS.Engine.Data;

/// <summary>
/// The random decisions for one sample, drawn before any pixel is touched. A pure function of
/// (seed, epoch, batch index, position in the batch) and the subset's settings; each decision has its own
/// <see cref="DeterministicRandom"/> stream, so turning one augmentation on never changes another's outcome.
/// </summary>
/// <param name="Flip">Mirror the image left-right (only ever true with flip_aug; probability 0.5).</param>
/// <param name="DropCaption">Train this sample with the empty caption (probability caption_dropout_rate).</param>
/// <param name="CaptionShuffleSeed">Seed of the caption-shuffle stream (used only with shuffle_caption).</param>
/// <param name="CropSeed">Seed of the crop-position stream (used only with random_crop).</param>
public readonly record struct SampleAugmentation(bool Flip, bool DropCaption, ulong CaptionShuffleSeed, ulong CropSeed)
{
    /// <summary>The decisions for the sample at <paramref name="position"/> of batch <paramref name="batchIndex"/> of <paramref name="epoch"/>.</summary>
    public static SampleAugmentation For(SubsetSettings settings, long seed, int epoch, int batchIndex, int position)
    {
        bool flip = settings.FlipAug
            && DeterministicRandom.Derive(seed, DeterministicRandom.Domains.Flip, epoch, batchIndex, position).NextDouble() < 0.5;
        bool drop = settings.CaptionDropoutRate > 0
            && DeterministicRandom.Derive(seed, DeterministicRandom.Domains.CaptionDropout, epoch, batchIndex, position).NextDouble() < settings.CaptionDropoutRate;
        return new SampleAugmentation(
            flip,
            drop,
            DeterministicRandom.DeriveSeed(seed, DeterministicRandom.Domains.CaptionShuffle, epoch, batchIndex, position),
            DeterministicRandom.DeriveSeed(seed, DeterministicRandom.Domains.Crop, epoch, batchIndex, position));
    }

    /// <summary>
    /// The caption this sample trains with: "" when dropped; otherwise, with shuffle_caption, the comma-separated
    /// tags (each trimmed) with the first keep_tokens left in place and the rest shuffled, joined by ", ";
    /// otherwise the caption unchanged. (kohya's order: dropout first, then shuffling.)
    /// </summary>
    public string ApplyToCaption(string caption, SubsetSettings settings)
    {
        if (DropCaption)
            return "";
        if (!settings.ShuffleCaption)
            return caption;
        return ShuffleTags(caption, settings.KeepTokens, new DeterministicRandom(CaptionShuffleSeed));
    }

    /// <summary>Shuffles comma-separated tags after the first <paramref name="keepTokens"/>, which stay in place.</summary>
    public static string ShuffleTags(string caption, int keepTokens, DeterministicRandom random)
    {
        var tags = caption.Trim().Split(',').Select(t => t.Trim()).ToList();
        int keep = Math.Clamp(keepTokens, 0, tags.Count);
        var flexible = tags.GetRange(keep, tags.Count - keep);
        random.Shuffle(flexible);
        return string.Join(", ", tags.Take(keep).Concat(flexible));
    }
}
