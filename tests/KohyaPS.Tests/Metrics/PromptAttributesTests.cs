using KohyaPS.Engine.Metrics;

namespace KohyaPS.Tests.Metrics;

public sealed class PromptAttributesTests
{
    private static (string? Shape, string? Color) Parse(string prompt)
    {
        var p = PromptAttributes.Parse(prompt, DemoAttributeClassifier.ShapeNames, DemoAttributeClassifier.ColorNames);
        return (p.Shape is { } s ? DemoAttributeClassifier.ShapeNames[s] : null, p.Color is { } c ? DemoAttributeClassifier.ColorNames[c] : null);
    }

    [Theory]
    [InlineData("a red circle on an orange background", "circle", "red")]
    [InlineData("An Orange STAR on a white background", "star", "orange")]
    [InlineData("two blue triangles", "triangle", "blue")]
    [InlineData("a cross, purple background", "cross", null)]
    [InlineData("a square on a black background --n blurry --d 5", "square", null)]
    [InlineData("green, yellow square", "square", "yellow")]
    [InlineData("a photo of a cat", null, null)]
    public void ReadsTheShapeAndTheColourBeforeIt(string prompt, string? shape, string? color) =>
        Assert.Equal((shape, color), Parse(prompt));
}
