using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Models;

/// <summary>
/// CLIP's text embeddings: <c>token_embedding</c> + learned <c>position_embedding</c>. Initialised as CLIP does
/// (normal, std 0.02 and 0.01) from torch's default generator.
/// </summary>
public sealed class TextEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding;
    private readonly Embedding position_embedding;

    public TextEmbeddings(long vocabSize, long maxLength, long width, Device? device = null, ScalarType? dtype = null)
        : base(nameof(TextEmbeddings))
    {
        token_embedding = nn.Embedding(vocabSize, width, device: device, dtype: dtype);
        position_embedding = nn.Embedding(maxLength, width, device: device, dtype: dtype);
        using (torch.no_grad())
        {
            nn.init.normal_(token_embedding.weight!, 0.0, 0.02);
            nn.init.normal_(position_embedding.weight!, 0.0, 0.01);
        }
        RegisterComponents();
    }

    /// <param name="ids">[B, L] int64 token ids.</param>
    /// <returns>[B, L, width]</returns>
    public override Tensor forward(Tensor ids)
    {
        using var positions = torch.arange(ids.shape[1], ScalarType.Int64, ids.device);
        using var tokens = token_embedding.forward(ids);
        using var places = position_embedding.forward(positions);
        return tokens + places;
    }
}
