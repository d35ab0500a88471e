// An ONNX Runtime inference session: model loading, input/output metadata and Run.

using System.Collections.ObjectModel;
using System.Runtime.InteropServices;

namespace ModelGen.OnnxRuntime;

/// <summary>
/// An ONNX model loaded into ONNX Runtime (CPU). Thread-safe for concurrent <see cref="Run"/> calls;
/// dispose it to release the native session (a finalizer does so if you forget).
/// </summary>
public sealed unsafe class OrtSession : IDisposable
{
    private static readonly OrtSessionOptions s_defaultOptions = new();

    private nint _session;
    private readonly OrtTensorInfo[] _inputs = [];
    private readonly OrtTensorInfo[] _outputs = [];
    private readonly ReadOnlyCollection<OrtTensorInfo> _inputsView;
    private readonly ReadOnlyCollection<OrtTensorInfo> _outputsView;
    private readonly byte** _inputNames;   // NUL-terminated UTF-8 names in graph order, for OrtApi::Run
    private readonly byte** _outputNames;
    private readonly bool _environmentAcquired;
    private int _released;

    /// <summary>Loads a model from an .onnx file.</summary>
    /// <param name="modelPath">The model file.</param>
    /// <param name="options">Session options; null for the defaults (1 thread, all optimizations).</param>
    /// <exception cref="OrtException">ONNX Runtime rejected the model (or the file does not exist).</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime itself could not be loaded.</exception>
    /// <exception cref="NotSupportedException">An input or output is not a tensor.</exception>
    public OrtSession(string modelPath, OrtSessionOptions? options = null)
        : this(modelPath ?? throw new ArgumentNullException(nameof(modelPath)), null, options)
    {
    }

    /// <summary>Loads a model from the bytes of an .onnx file.</summary>
    /// <param name="model">The serialized ModelProto.</param>
    /// <param name="options">Session options; null for the defaults (1 thread, all optimizations).</param>
    /// <exception cref="OrtException">ONNX Runtime rejected the model.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime itself could not be loaded.</exception>
    /// <exception cref="NotSupportedException">An input or output is not a tensor.</exception>
    public OrtSession(byte[] model, OrtSessionOptions? options = null)
        : this(null, model ?? throw new ArgumentNullException(nameof(model)), options)
    {
    }

    private OrtSession(string? modelPath, byte[]? model, OrtSessionOptions? options)
    {
        nint env = OrtEnvironment.Acquire();
        _environmentAcquired = true;
        try
        {
            nint nativeOptions = (options ?? s_defaultOptions).CreateNative();
            try
            {
                _session = model is not null
                    ? CreateFromBytes(env, model, nativeOptions)
                    : CreateFromFile(env, modelPath!, nativeOptions);
            }
            finally
            {
                OrtNative.ReleaseSessionOptions(nativeOptions);
            }
            _inputs = ReadInfos(isInput: true);
            _outputs = ReadInfos(isInput: false);
            _inputNames = AllocNames(_inputs);
            _outputNames = AllocNames(_outputs);
            _inputsView = Array.AsReadOnly(_inputs);
            _outputsView = Array.AsReadOnly(_outputs);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Releases the native session if <see cref="Dispose"/> was not called.</summary>
    ~OrtSession() => ReleaseNative();

    /// <summary>The graph inputs (excluding initializers), in graph order.</summary>
    public IReadOnlyList<OrtTensorInfo> Inputs => _inputsView;

    /// <summary>The graph outputs, in graph order.</summary>
    public IReadOnlyList<OrtTensorInfo> Outputs => _outputsView;

    /// <summary>
    /// Runs the model. Every graph input must be given exactly once (matched by name, any order);
    /// the input arrays are read in place, not copied.
    /// </summary>
    /// <returns>Every graph output, in graph order, copied into new managed arrays.</returns>
    /// <exception cref="ArgumentException">An input name is unknown, missing or given twice.</exception>
    /// <exception cref="OrtException">ONNX Runtime failed (e.g. wrong element type or shape).</exception>
    /// <exception cref="NotSupportedException">An output has an unsupported element type (e.g. string).</exception>
    public OrtTensor[] Run(IReadOnlyList<OrtTensor> inputs)
    {
        OrtTensor[] bound = BindInputs(inputs);
        int n = bound.Length, m = _outputs.Length;
        var pins = new GCHandle[n];
        var values = new nint[n + m];   // inputs, then outputs (null: ORT allocates them)
        try
        {
            for (int i = 0; i < n; i++)
            {
                pins[i] = GCHandle.Alloc(bound[i].Data, GCHandleType.Pinned);
                values[i] = CreateTensorValue(bound[i].ElementType, bound[i].Shape, (void*)pins[i].AddrOfPinnedObject(), bound[i].Data.Length);
            }
            fixed (nint* v = values)
                RunNative(v, v + n);
            var results = new OrtTensor[m];
            for (int j = 0; j < m; j++)
                results[j] = ReadTensor(_outputs[j].Name, values[n + j]);
            return results;
        }
        finally
        {
            foreach (nint value in values)
                OrtNative.ReleaseValue(value);   // a no-op for null
            foreach (GCHandle pin in pins)
            {
                if (pin.IsAllocated)
                    pin.Free();
            }
        }
    }

    /// <summary>
    /// Binds float inputs and preallocated float outputs once, for allocation-free repeated runs
    /// (benchmarks). The input arrays are pinned and used in place: writing to them changes the
    /// next <see cref="OrtPreparedRun.Run"/>'s input.
    /// </summary>
    /// <exception cref="ArgumentException">An input name is unknown, missing or given twice, or an input is not float.</exception>
    /// <exception cref="NotSupportedException">An output is not float.</exception>
    public OrtPreparedRun Prepare(IReadOnlyList<OrtTensor> inputs) => new(this, BindInputs(inputs));

    /// <summary>Releases the native session.</summary>
    public void Dispose()
    {
        ReleaseNative();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"OrtSession({string.Join(", ", _inputs.Select(i => i.ToString()))}) -> ({string.Join(", ", _outputs.Select(o => o.ToString()))})";

    /// <summary>Orders <paramref name="inputs"/> like the graph inputs; throws ArgumentException on a mismatch.</summary>
    internal OrtTensor[] BindInputs(IReadOnlyList<OrtTensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_released != 0, this);
        var bound = new OrtTensor[_inputs.Length];
        foreach (OrtTensor tensor in inputs)
        {
            ArgumentNullException.ThrowIfNull(tensor, nameof(inputs));
            int index = Array.FindIndex(_inputs, info => info.Name == tensor.Name);
            if (index < 0)
                throw new ArgumentException($"The model has no input named '{tensor.Name}'; its inputs are: {string.Join(", ", _inputs.Select(i => i.ToString()))}.", nameof(inputs));
            if (bound[index] is not null)
                throw new ArgumentException($"Input '{tensor.Name}' is given more than once.", nameof(inputs));
            bound[index] = tensor;
        }
        int missing = Array.IndexOf(bound, null);
        if (missing >= 0)
            throw new ArgumentException($"Input '{_inputs[missing].Name}' is missing; the model's inputs are: {string.Join(", ", _inputs.Select(i => i.ToString()))}.", nameof(inputs));
        return bound;
    }

    /// <summary>Calls OrtApi::Run with one value per graph input and output, in graph order.</summary>
    internal void RunNative(nint* inputValues, nint* outputValues)
    {
        ObjectDisposedException.ThrowIf(_released != 0, this);
        OrtNative.Check(OrtNative.Run(_session, 0, _inputNames, inputValues, (nuint)_inputs.Length, _outputNames, (nuint)_outputs.Length, outputValues), "Run");
        GC.KeepAlive(this);   // the finalizer must not release the session during the call
    }

    /// <summary>Creates an OrtValue over caller-owned memory (which must stay pinned while the value lives).</summary>
    internal static nint CreateTensorValue(OrtElementType type, long[] shape, void* data, int elementCount)
    {
        nuint bytes = (nuint)elementCount * (nuint)ElementSize(type);
        nint value;
        fixed (long* dims = shape)
        {
            OrtNative.Check(OrtNative.CreateTensorWithDataAsOrtValue(OrtEnvironment.CpuMemoryInfo, data, bytes, dims, (nuint)shape.Length, (int)type, &value),
                "CreateTensorWithDataAsOrtValue");
        }
        return value;
    }

    internal static int ElementSize(OrtElementType type) => type switch
    {
        OrtElementType.UInt8 or OrtElementType.Int8 or OrtElementType.Bool => 1,
        OrtElementType.UInt16 or OrtElementType.Int16 or OrtElementType.Float16 => 2,
        OrtElementType.Float or OrtElementType.Int32 or OrtElementType.UInt32 => 4,
        OrtElementType.Double or OrtElementType.Int64 or OrtElementType.UInt64 => 8,
        _ => throw new NotSupportedException($"Element type {type} is not supported."),
    };

    private static nint CreateFromBytes(nint env, byte[] model, nint options)
    {
        nint session;
        fixed (byte* data = model)
            OrtNative.Check(OrtNative.CreateSessionFromArray(env, data, (nuint)model.Length, options, &session), "CreateSessionFromArray");
        return session;
    }

    private static nint CreateFromFile(nint env, string path, nint options)
    {
        nint session;
        if (OperatingSystem.IsWindows())
        {
            // ORTCHAR_T is wchar_t on Windows.
            fixed (char* p = path)
                OrtNative.Check(OrtNative.CreateSession(env, p, options, &session), "CreateSession");
            return session;
        }
        byte* utf8 = OrtNative.AllocUtf8(path);
        try
        {
            OrtNative.Check(OrtNative.CreateSession(env, utf8, options, &session), "CreateSession");
        }
        finally
        {
            NativeMemory.Free(utf8);
        }
        return session;
    }

    /// <summary>
    /// Ends profiling (the session was created with <see cref="OrtSessionOptions.ProfileFilePrefix"/>) and returns the
    /// path of the JSON profile ORT wrote: one event per node and run with its duration in microseconds.
    /// </summary>
    public string EndProfiling()
    {
        ObjectDisposedException.ThrowIf(_released != 0, this);
        nint allocator = OrtEnvironment.Allocator;
        byte* path;
        OrtNative.Check(OrtNative.SessionEndProfiling(_session, allocator, &path), "SessionEndProfiling");
        string result = OrtNative.Utf8(path)!;
        OrtNative.AllocatorFree(allocator, path);
        return result;
    }

    private OrtTensorInfo[] ReadInfos(bool isInput)
    {
        nuint count;
        if (isInput)
            OrtNative.Check(OrtNative.SessionGetInputCount(_session, &count), "SessionGetInputCount");
        else
            OrtNative.Check(OrtNative.SessionGetOutputCount(_session, &count), "SessionGetOutputCount");
        var infos = new OrtTensorInfo[(int)count];
        nint allocator = OrtEnvironment.Allocator;
        for (nuint i = 0; i < count; i++)
        {
            byte* name;
            if (isInput)
                OrtNative.Check(OrtNative.SessionGetInputName(_session, i, allocator, &name), "SessionGetInputName");
            else
                OrtNative.Check(OrtNative.SessionGetOutputName(_session, i, allocator, &name), "SessionGetOutputName");
            string managedName = OrtNative.Utf8(name)!;
            OrtNative.AllocatorFree(allocator, name);

            nint typeInfo;
            if (isInput)
                OrtNative.Check(OrtNative.SessionGetInputTypeInfo(_session, i, &typeInfo), "SessionGetInputTypeInfo");
            else
                OrtNative.Check(OrtNative.SessionGetOutputTypeInfo(_session, i, &typeInfo), "SessionGetOutputTypeInfo");
            try
            {
                infos[(int)i] = DescribeTypeInfo(managedName, typeInfo);
            }
            finally
            {
                OrtNative.ReleaseTypeInfo(typeInfo);
            }
        }
        return infos;
    }

    private static OrtTensorInfo DescribeTypeInfo(string name, nint typeInfo)
    {
        int onnxType;
        OrtNative.Check(OrtNative.GetOnnxTypeFromTypeInfo(typeInfo, &onnxType), "GetOnnxTypeFromTypeInfo");
        if (onnxType != OrtNative.OnnxTypeTensor)
            throw new NotSupportedException($"'{name}' is not a dense tensor (ONNXType {onnxType}); only tensor inputs and outputs are supported.");
        nint tensorInfo;   // owned by typeInfo: not released separately
        OrtNative.Check(OrtNative.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo), "CastTypeInfoToTensorInfo");
        (OrtElementType type, long[] shape) = ReadTypeAndShape(tensorInfo);

        var symbols = new nint[shape.Length];
        fixed (nint* p = symbols)
            OrtNative.Check(OrtNative.GetSymbolicDimensions(tensorInfo, (byte**)p, (nuint)shape.Length), "GetSymbolicDimensions");
        var symbolic = new string?[shape.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            string? symbol = OrtNative.Utf8((byte*)symbols[d]);   // owned by tensorInfo
            symbolic[d] = string.IsNullOrEmpty(symbol) ? null : symbol;
        }
        return new OrtTensorInfo(name, type, shape, symbolic);
    }

    private static (OrtElementType Type, long[] Shape) ReadTypeAndShape(nint tensorInfo)
    {
        int type;
        nuint rank;
        OrtNative.Check(OrtNative.GetTensorElementType(tensorInfo, &type), "GetTensorElementType");
        OrtNative.Check(OrtNative.GetDimensionsCount(tensorInfo, &rank), "GetDimensionsCount");
        var shape = new long[(int)rank];
        fixed (long* p = shape)
            OrtNative.Check(OrtNative.GetDimensions(tensorInfo, p, rank), "GetDimensions");
        return ((OrtElementType)type, shape);
    }

    private static OrtTensor ReadTensor(string name, nint value)
    {
        nint info;
        OrtNative.Check(OrtNative.GetTensorTypeAndShape(value, &info), "GetTensorTypeAndShape");
        OrtElementType type;
        long[] shape;
        try
        {
            (type, shape) = ReadTypeAndShape(info);
        }
        finally
        {
            OrtNative.ReleaseTensorTypeAndShapeInfo(info);
        }
        if (OrtTensor.ClrType(type) is null)
            throw new NotSupportedException($"Output '{name}' has element type {type}, which is not supported.");
        int count = (int)OrtTensor.ElementCount(shape);
        Array data = OrtTensor.NewArray(type, count);
        if (count > 0)
        {
            void* source;
            OrtNative.Check(OrtNative.GetTensorMutableData(value, &source), "GetTensorMutableData");
            long bytes = (long)count * ElementSize(type);
            fixed (byte* destination = &MemoryMarshal.GetArrayDataReference(data))
                Buffer.MemoryCopy(source, destination, bytes, bytes);
        }
        return new OrtTensor(name, type, shape, data);
    }

    private static byte** AllocNames(OrtTensorInfo[] infos)
    {
        var names = (byte**)NativeMemory.AllocZeroed((nuint)Math.Max(infos.Length, 1), (nuint)sizeof(byte*));
        for (int i = 0; i < infos.Length; i++)
            names[i] = OrtNative.AllocUtf8(infos[i].Name);
        return names;
    }

    private static void FreeNames(byte** names, int count)
    {
        if (names == null)
            return;
        for (int i = 0; i < count; i++)
            NativeMemory.Free(names[i]);
        NativeMemory.Free(names);
    }

    private void ReleaseNative()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        if (_session != 0)
            OrtNative.ReleaseSession(_session);
        _session = 0;
        FreeNames(_inputNames, _inputs?.Length ?? 0);
        FreeNames(_outputNames, _outputs?.Length ?? 0);
        if (_environmentAcquired)
            OrtEnvironment.Release();
    }
}
