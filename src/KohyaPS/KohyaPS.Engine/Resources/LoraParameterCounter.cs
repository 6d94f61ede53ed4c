using KohyaPS.Contracts;
using KohyaPS.Engine.Models;
using KohyaPS.Engine.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace KohyaPS.Engine.Resources;

/// <summary>
/// LoRA parameters of the target set a Network section asks for (Network.TargetModules, or kohya's standard set when it
/// is empty), counted by injecting the adapters exactly as training does (<see cref="LoraSettings.From"/> and
/// <see cref="LoraNetwork.Inject"/>) into the UNet and text encoder built on the <c>meta</c> device — shapes without
/// memory — so the estimate and the trained network cannot drift apart. A layer of in → out features gets
/// <c>lora_down</c> [rank, in] and <c>lora_up</c> [out, rank] (a k×k convolution: [rank, in, k, k] and [out, rank, 1, 1]);
/// the alpha scalar is not trained.
/// </summary>
public static class LoraParameterCounter
{
    /// <summary>Trainable LoRA parameters in the UNet and in the text encoder (0 when it is not trained).</summary>
    public static (long UNet, long TextEncoder) Count(UNetConfig unet, TextEncoderConfig text, NetworkSection network, bool trainTextEncoder)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(text);
        var settings = LoraSettings.From(network, trainTextEncoder)
            ?? throw new ArgumentException("The Network section is not a LoRA (Network.Type lora).", nameof(network));
        var meta = new Device(DeviceType.META);
        // Initialisers draw from the default generator even on meta: put its state back afterwards.
        using var generator = DefaultGeneratorScope.Preserve();
        using var unetModel = new UNet2DConditionModel(unet, meta);
        using var textModel = new TextEncoder(text, meta);
        using var lora = LoraNetwork.Inject(unetModel, textModel, settings);
        long inUNet = 0, inText = 0;
        foreach (var (name, p) in lora.Parameters())
        {
            if (name.StartsWith(LoraNetwork.UNetPrefix, StringComparison.Ordinal))
                inUNet += p.numel();
            else
                inText += p.numel();
        }
        return (inUNet, inText);
    }
}
