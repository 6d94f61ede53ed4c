namespace KohyaPS.Engine.Loading;

/// <summary>
/// One tensor's names in the two layouts. <see cref="ModelKey"/> is our module's state-dict key (the diffusers
/// name inside the component); <see cref="DiffusersKey"/> the key in the diffusers folder's file (the text encoder
/// adds <c>text_model.</c>); <see cref="LdmKey"/> the key in an original single-file checkpoint, prefix included.
/// <see cref="LdmIsConv1x1"/>: the LDM file stores this linear weight [out, in] as a 1×1 convolution
/// [out, in, 1, 1] (the VAE's attention projections).
/// </summary>
public sealed record KeyMapping(SdComponent Component, string ModelKey, string DiffusersKey, string LdmKey, bool LdmIsConv1x1)
{
    /// <summary>The LDM shape of a tensor whose model shape is <paramref name="modelShape"/>.</summary>
    public long[] LdmShape(long[] modelShape) => LdmIsConv1x1 ? modelShape.Concat(new[] { 1L, 1L }).ToArray() : modelShape;
}
