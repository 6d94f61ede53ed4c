using KohyaPS.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Data;

/// <summary>One sample of a batch: which image, the caption it trains with, and what augmentation did.</summary>
public sealed record BatchSample(int EntryIndex, string Caption, bool Flipped, bool CaptionDropped, bool IsReg);

/// <summary>
/// A batch ready for the model: pixels [B, 3, H, W] in [-1, 1] and one caption per image. The caller owns it:
/// dispose it (or let a dispose scope take <see cref="Pixels"/>) when the step is done.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    public TrainingBatch(BatchPlan plan, Tensor pixels, IReadOnlyList<BatchSample> samples)
    {
        Plan = plan;
        Pixels = pixels;
        Samples = samples;
        Captions = samples.Select(s => s.Caption).ToList();
    }

    public BatchPlan Plan { get; }

    /// <summary>float32 [B, 3, H, W], RGB, values in [-1, 1].</summary>
    public Tensor Pixels { get; }

    public IReadOnlyList<string> Captions { get; }

    public IReadOnlyList<BatchSample> Samples { get; }

    public void Dispose() => Pixels.Dispose();
}

/// <summary>
/// Turns a <see cref="BatchPlan"/> into a <see cref="TrainingBatch"/>: loads each image at its bucket's resolution
/// and applies the sample's augmentation (<see cref="SampleAugmentation"/>). Deterministic: the same plan, index,
/// buckets and seed give bit-identical pixels and identical captions.
/// </summary>
public static class BatchBuilder
{
    public static TrainingBatch Build(BatchPlan plan, DatasetIndex index, BucketAssignment buckets, long seed, CancellationToken cancellationToken = default)
    {
        var samples = Describe(plan, index, seed);
        int w = plan.Resolution.Width, h = plan.Resolution.Height;
        int size = 3 * w * h;
        var data = new float[checked(plan.Items.Count * size)];
        for (int i = 0; i < plan.Items.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int entry = plan.Items[i];
            var choice = buckets.ChoiceOf(entry);
            if (choice.Bucket != plan.Resolution)
                throw new ArgumentException($"Entry {entry} belongs to bucket {choice.Bucket}, not to the batch's {plan.Resolution}.", nameof(plan));
            var settings = index.SubsetOf(entry);
            var augmentation = SampleAugmentation.For(settings, seed, plan.Epoch, plan.BatchIndex, i);
            var crop = settings.RandomCrop ? new DeterministicRandom(augmentation.CropSeed) : null;
            float[] chw = LoadPixels(index, entry, choice, crop, augmentation.Flip);
            Array.Copy(chw, 0, data, i * size, size);
        }
        TorchRuntime.EnsureLoaded();
        var pixels = torch.tensor(data, new long[] { plan.Items.Count, 3, h, w });
        return new TrainingBatch(plan, pixels, samples);
    }

    /// <summary>
    /// The pixels one sample of <paramref name="entryIndex"/> trains with when nothing about it is random but the
    /// flip: float32 [1, 3, H, W] at the entry's bucket, in [-1, 1] — bit-identical to that sample's row of
    /// <see cref="Build"/>'s batch. An entry whose subset uses random_crop has no such fixed pixels
    /// (<see cref="ArgumentException"/>). The caller owns the tensor.
    /// </summary>
    public static Tensor SamplePixels(DatasetIndex index, BucketAssignment buckets, int entryIndex, bool flipped)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(buckets);
        if (index.SubsetOf(entryIndex).RandomCrop)
            throw new ArgumentException($"Entry {entryIndex} uses random_crop: its pixels differ from step to step.", nameof(entryIndex));
        var choice = buckets.ChoiceOf(entryIndex);
        float[] chw = LoadPixels(index, entryIndex, choice, crop: null, flipped);
        TorchRuntime.EnsureLoaded();
        return torch.tensor(chw, new long[] { 1, 3, choice.Bucket.Height, choice.Bucket.Width });
    }

    /// <summary>One image decoded, scaled to its bucket choice and cropped (centred, or from <paramref name="crop"/>): CHW floats.</summary>
    private static float[] LoadPixels(DatasetIndex index, int entryIndex, BucketChoice choice, DeterministicRandom? crop, bool flip)
    {
        var image = ImageLoader.DecodeRgb(index[entryIndex].AbsolutePath);
        return ImageLoader.ResizeCrop(image, choice.ResizedWidth, choice.ResizedHeight, choice.Bucket.Width, choice.Bucket.Height, crop, flip);
    }

    /// <summary>The samples of a batch (captions and augmentation decisions) without loading any pixels.</summary>
    public static IReadOnlyList<BatchSample> Describe(BatchPlan plan, DatasetIndex index, long seed)
    {
        var samples = new BatchSample[plan.Items.Count];
        for (int i = 0; i < samples.Length; i++)
        {
            int entry = plan.Items[i];
            var settings = index.SubsetOf(entry);
            var augmentation = SampleAugmentation.For(settings, seed, plan.Epoch, plan.BatchIndex, i);
            string caption = augmentation.ApplyToCaption(index[entry].Caption, settings);
            samples[i] = new BatchSample(entry, caption, augmentation.Flip, augmentation.DropCaption, index[entry].IsReg);
        }
        return samples;
    }
}
