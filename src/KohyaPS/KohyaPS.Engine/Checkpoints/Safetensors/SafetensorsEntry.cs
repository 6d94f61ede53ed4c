using System.Collections.ObjectModel;
using TorchSharp;

namespace KohyaPS.Engine.Checkpoints.Safetensors;

/// <summary>One tensor as the header describes it. Offsets are relative to the first byte after the header.</summary>
public sealed class SafetensorsEntry
{
    private readonly long[] _shape;

    internal SafetensorsEntry(string name, SafetensorsDtype dtype, long[] shape, long begin, long end)
    {
        Name = name;
        Dtype = dtype;
        _shape = shape;
        Shape = Array.AsReadOnly(shape);
        Begin = begin;
        End = end;
    }

    public string Name { get; }

    public SafetensorsDtype Dtype { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public ReadOnlyCollection<long> Shape { get; }

    /// <summary>First byte of the tensor's data, relative to the data region.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the data region.</summary>
    public long End { get; }

    public long ByteLength => End - Begin;

    /// <summary>Product of the dimensions (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in _shape)
                n *= d;
            return n;
        }
    }

    /// <summary>The TorchSharp element type, or null when TorchSharp has no equivalent.</summary>
    public torch.ScalarType? ScalarType => Dtype.ToScalarType();

    /// <summary>A copy of the shape, ready for <c>torch.empty</c>.</summary>
    public long[] GetShape() => (long[])_shape.Clone();

    internal long[] ShapeArray => _shape;

    public override string ToString() =>
        $"{Name} {Dtype.GetName()}[{string.Join(",", _shape)}] @[{Begin},{End})";
}
