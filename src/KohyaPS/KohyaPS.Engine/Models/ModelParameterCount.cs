namespace KohyaPS.Engine.Models;

/// <summary>Size of a model: how many state-dict tensors it has and how many scalars they hold.</summary>
public readonly record struct ModelParameterCount(int Tensors, long Parameters)
{
    /// <summary>Counts a set of tensor shapes.</summary>
    public static ModelParameterCount FromShapes(IEnumerable<long[]> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        int tensors = 0;
        long parameters = 0;
        foreach (var shape in shapes)
        {
            tensors++;
            parameters += shape.Aggregate(1L, (a, b) => a * b);
        }
        return new ModelParameterCount(tensors, parameters);
    }
}
