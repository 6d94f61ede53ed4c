using KohyaPS.Engine.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Metrics;

/// <summary>Loads image files in batches at a network's input size and runs a function over each batch.</summary>
internal static class ImageBatches
{
    public const int DefaultBatchSize = 32;

    /// <summary>
    /// Runs <paramref name="forward"/> over the images in batches and concatenates its outputs along dimension 0.
    /// <paramref name="done"/> is called with the number of images finished after each batch. Missing files raise
    /// <see cref="MetricsErrors.SampleNotFound"/> (through <paramref name="missing"/>), undecodable ones
    /// <c>ImageUndecodable</c>.
    /// </summary>
    public static Tensor Map(IReadOnlyList<string> paths, int size, Func<Tensor, Tensor> forward, Func<string, KohyaException> missing,
        Action<int>? done, CancellationToken token, int batchSize = DefaultBatchSize)
    {
        var outputs = new List<Tensor>();
        try
        {
            for (int start = 0; start < paths.Count; start += batchSize)
            {
                token.ThrowIfCancellationRequested();
                int count = Math.Min(batchSize, paths.Count - start);
                using (var scope = torch.NewDisposeScope())
                {
                    var images = new Tensor[count];
                    for (int i = 0; i < count; i++)
                        images[i] = Load(paths[start + i], size, missing);
                    var batch = torch.stack(images);
                    using var noGrad = torch.no_grad();
                    outputs.Add(forward(batch).MoveToOuterDisposeScope());
                }
                done?.Invoke(start + count);
            }
            return torch.cat(outputs, 0);
        }
        finally
        {
            foreach (var t in outputs)
                t.Dispose();
        }
    }

    /// <summary>One image as [3, size, size] in [−1, 1].</summary>
    public static Tensor Load(string path, int size, Func<string, KohyaException> missing)
    {
        if (!File.Exists(path))
            throw missing(path);
        return ImageLoader.LoadResized(path, size, size);
    }
}
