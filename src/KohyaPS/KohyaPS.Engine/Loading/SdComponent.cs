namespace KohyaPS.Engine.Loading;

/// <summary>The three weight-carrying parts of a Stable Diffusion 1.x checkpoint.</summary>
public enum SdComponent
{
    UNet,
    Vae,
    TextEncoder,
}
