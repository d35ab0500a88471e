// Pre-bound float inputs and outputs for allocation-free repeated runs (benchmarks).

using System.Runtime.InteropServices;

namespace ModelGen.OnnxRuntime;

/// <summary>
/// A run of an <see cref="OrtSession"/> whose float inputs and outputs are bound once: the input
/// arrays and preallocated output arrays are pinned and wrapped in OrtValues, so <see cref="Run"/>
/// makes no managed allocation. Create it with <see cref="OrtSession.Prepare"/>; not thread-safe.
/// </summary>
public sealed unsafe class OrtPreparedRun : IDisposable
{
    private readonly OrtSession _session;
    private readonly float[][] _outputs;
    private readonly long[][] _outputShapes;
    private readonly GCHandle[] _pins;      // inputs, then outputs
    private readonly nint* _values;         // OrtValue* of the inputs, then of the outputs (native memory)
    private readonly int _inputCount;
    private readonly int _valueCount;
    private readonly bool _environmentAcquired;
    private int _released;

    internal OrtPreparedRun(OrtSession session, OrtTensor[] inputs)
    {
        foreach (OrtTensor input in inputs)
        {
            if (input.ElementType != OrtElementType.Float)
                throw new ArgumentException($"Prepared runs take float inputs only; '{input.Name}' is {input.ElementType}.", nameof(inputs));
        }
        foreach (OrtTensorInfo output in session.Outputs)
        {
            if (output.ElementType != OrtElementType.Float)
                throw new NotSupportedException($"Prepared runs produce float outputs only; '{output.Name}' is {output.ElementType}.");
        }

        _session = session;
        _inputCount = inputs.Length;
        _outputShapes = session.Outputs.Select(o => o.Shape).ToArray();
        if (_outputShapes.Any(shape => shape.Any(d => d < 0)))
        {
            // Symbolic output dimensions: run once to learn the actual shapes.
            _outputShapes = session.Run(inputs).Select(t => t.Shape).ToArray();
        }
        _outputs = _outputShapes.Select(shape => new float[OrtTensor.ElementCount(shape)]).ToArray();
        _valueCount = _inputCount + _outputs.Length;
        _pins = new GCHandle[_valueCount];

        OrtEnvironment.Acquire();
        _environmentAcquired = true;
        _values = (nint*)NativeMemory.AllocZeroed((nuint)Math.Max(_valueCount, 1), (nuint)sizeof(nint));
        try
        {
            for (int i = 0; i < _valueCount; i++)
            {
                bool isInput = i < _inputCount;
                float[] data = isInput ? (float[])inputs[i].Data : _outputs[i - _inputCount];
                long[] shape = isInput ? inputs[i].Shape : _outputShapes[i - _inputCount];
                _pins[i] = GCHandle.Alloc(data, GCHandleType.Pinned);
                _values[i] = OrtSession.CreateTensorValue(OrtElementType.Float, shape, (void*)_pins[i].AddrOfPinnedObject(), data.Length);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Releases the OrtValues and unpins the arrays if <see cref="Dispose"/> was not called.</summary>
    ~OrtPreparedRun() => ReleaseNative();

    /// <summary>The number of outputs (the session's graph outputs, in graph order).</summary>
    public int OutputCount => _outputs.Length;

    /// <summary>Runs the model on the bound inputs, writing into the bound outputs. Allocates nothing.</summary>
    /// <exception cref="OrtException">ONNX Runtime failed.</exception>
    public void Run()
    {
        ObjectDisposedException.ThrowIf(_released != 0, this);
        _session.RunNative(_values, _values + _inputCount);
        GC.KeepAlive(this);
    }

    /// <summary>The elements of output <paramref name="index"/> (graph order) as written by the last <see cref="Run"/>.</summary>
    public ReadOnlySpan<float> Output(int index) => _outputs[index];

    /// <summary>The shape of output <paramref name="index"/>.</summary>
    public ReadOnlySpan<long> OutputShape(int index) => _outputShapes[index];

    /// <summary>Releases the OrtValues and unpins the arrays. Does not dispose the session.</summary>
    public void Dispose()
    {
        ReleaseNative();
        GC.SuppressFinalize(this);
    }

    private void ReleaseNative()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        if (_values != null)
        {
            for (int i = 0; i < _valueCount; i++)
                OrtNative.ReleaseValue(_values[i]);
            NativeMemory.Free(_values);
        }
        if (_pins is not null)
        {
            foreach (GCHandle pin in _pins)
            {
                if (pin.IsAllocated)
                    pin.Free();
            }
        }
        if (_environmentAcquired)
            OrtEnvironment.Release();
    }
}
