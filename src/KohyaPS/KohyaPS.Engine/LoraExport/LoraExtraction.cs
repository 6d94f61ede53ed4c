using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.LoraExport;

/// <summary>
/// A LoRA that approximates what training changed: for every module kohya's LoRA targets, the difference
/// between the trained and the initial weight, truncated to rank r by SVD (ΔW ≈ up·down, the singular values
/// split evenly between the two), with alpha = r so the loader's scale alpha/r is 1.
/// </summary>
/// <remarks>
/// Targets, as kohya's networks.lora does for SD 1.x: in the UNet every Linear and 1×1 convolution inside a
/// transformer (<c>…attentions.N.…</c>: proj_in/out, attn1/attn2 to_q/k/v/out.0, ff); in the text encoder
/// every Linear of self_attn and mlp. Biases, norms and the other convolutions are not LoRA-shaped and are left out.
/// </remarks>
internal static class LoraExtraction
{
    /// <summary>Whether <paramref name="name"/> (our prefixed weight name) is a weight kohya's LoRA patches.</summary>
    public static bool IsTarget(string name, long[] shape)
    {
        if (!name.EndsWith(".weight", StringComparison.Ordinal))
            return false;
        bool linear = shape.Length == 2;
        bool pointwise = shape.Length == 4 && shape[2] == 1 && shape[3] == 1;
        if (name.StartsWith("unet.", StringComparison.Ordinal))
            return (linear || pointwise) && name.Contains(".attentions.", StringComparison.Ordinal);
        if (name.StartsWith("text_encoder.", StringComparison.Ordinal))
            return linear && (name.Contains(".self_attn.", StringComparison.Ordinal) || name.Contains(".mlp.", StringComparison.Ordinal));
        return false;
    }

    /// <summary>Our LoRA tensor name stem for a weight: UNet paths as they are, text-encoder paths under CLIPTextModel's <c>text_model.</c>.</summary>
    public static string ModuleOf(string weightName)
    {
        string module = weightName[..^".weight".Length];
        return module.StartsWith("text_encoder.", StringComparison.Ordinal)
            ? "text_encoder.text_model." + module["text_encoder.".Length..]
            : module;
    }

    /// <summary>
    /// Down/up/alpha tensors for each target weight (CPU, float32); the caller owns them. <paramref name="relativeError"/>
    /// gets ‖ΔW − up·down‖ / ‖ΔW‖ over all modules (0 when nothing changed).
    /// </summary>
    public static Dictionary<string, Tensor> Extract(IReadOnlyDictionary<string, Tensor> trained, IReadOnlyDictionary<string, Tensor> initial,
        int rank, CancellationToken cancellation, out double relativeError)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        double residual = 0, total = 0;
        using var noGrad = torch.no_grad();
        foreach (var (name, weight) in trained.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!IsTarget(name, weight.shape) || !initial.TryGetValue(name, out var start))
                continue;
            cancellation.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            long outFeatures = weight.shape[0], inFeatures = weight.shape[1];
            var delta = (weight.to(float32) - start.to(float32)).reshape(outFeatures, inFeatures);
            int r = (int)Math.Min(rank, Math.Min(outFeatures, inFeatures));
            var (u, s, vh) = torch.linalg.svd(delta, fullMatrices: false);
            var root = s.narrow(0, 0, r).sqrt();
            var up = u.narrow(1, 0, r) * root.unsqueeze(0);
            var down = root.unsqueeze(1) * vh.narrow(0, 0, r);
            residual += (delta - up.matmul(down)).square().sum().item<float>();
            total += delta.square().sum().item<float>();
            if (weight.shape.Length == 4)
            {
                up = up.reshape(outFeatures, r, 1, 1);
                down = down.reshape(r, inFeatures, 1, 1);
            }
            string module = ModuleOf(name);
            result[module + ".lora_down.weight"] = down.contiguous().MoveToOuterDisposeScope();
            result[module + ".lora_up.weight"] = up.contiguous().MoveToOuterDisposeScope();
            result[module + ".alpha"] = torch.tensor((float)r).MoveToOuterDisposeScope();
        }
        relativeError = total > 0 ? Math.Sqrt(residual / total) : 0;
        return result;
    }
}
