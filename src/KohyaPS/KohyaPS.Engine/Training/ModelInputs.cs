using KohyaPS.Engine.Caching;
using KohyaPS.Engine.Data;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Training;

/// <summary>One batch as the UNet sees it: the clean tensor (pixels, or scaled VAE latents) and a caption per sample.</summary>
public sealed record ModelBatch(Tensor X0, IReadOnlyList<string> Captions);

/// <summary>
/// What the UNet trains on at a batch position. A pixel model gets the batch's pixels. A latent model gets latents
/// drawn from each image's VAE posterior with the step's generator: from the latent cache when there is one (no image
/// is decoded then), otherwise encoded now through the same <see cref="LatentEncoder"/> — so both give the same bits.
/// </summary>
public sealed class ModelInputs
{
    private readonly TrainingData _data;
    private readonly TrainingModel _model;

    public ModelInputs(TrainingData data, TrainingModel model, LatentCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(model);
        if (cache is not null && model.Vae is null)
            throw new ArgumentException("A latent cache needs a model with a VAE.", nameof(cache));
        _data = data;
        _model = model;
        Cache = cache;
    }

    /// <summary>The latent cache the batches are read from; null when every image is encoded at its step (or the model has no VAE).</summary>
    public LatentCache? Cache { get; }

    /// <summary>The batch at (<paramref name="epoch"/>, <paramref name="batchIndex"/>); its tensor belongs to the caller's dispose scope.</summary>
    public ModelBatch Load(int epoch, int batchIndex, Generator generator)
    {
        if (Cache is null)
        {
            using var batch = _data.Load(epoch, batchIndex);
            return new ModelBatch(_model.ToModelSpace(batch.Pixels, generator), batch.Captions);
        }
        var samples = _data.Describe(epoch, batchIndex);
        var posteriors = samples.Select(s => Cache.GetOrEncode(s.EntryIndex, s.Flipped)).ToList();
        try
        {
            return new ModelBatch(_model.DrawLatents(posteriors, generator), samples.Select(s => s.Caption).ToList());
        }
        finally
        {
            foreach (var p in posteriors) p.Dispose();
        }
    }
}
