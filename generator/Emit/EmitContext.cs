// Licensed under the MIT license.
// State shared while emitting one model: the profile tables and the keyed set of shared helper methods.

using System;
using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Emit;

internal sealed class EmitContext
{
    private readonly SortedDictionary<string, string> _helpers = new(StringComparer.Ordinal);

    public EmitContext(ModelSpec spec, TargetProfile profile)
    {
        Spec = spec;
        Profile = profile;
    }

    public ModelSpec Spec { get; }
    public TargetProfile Profile { get; private set; }

    /// <summary>
    /// Emits with <paramref name="profile"/> (a variant of the model's profile for one layer, e.g. its narrow channel
    /// panels) until the returned scope is disposed.
    /// </summary>
    public IDisposable UseProfile(TargetProfile profile)
    {
        var scope = new ProfileScope(this, Profile);
        Profile = profile;
        return scope;
    }

    private sealed class ProfileScope(EmitContext ctx, TargetProfile previous) : IDisposable
    {
        public void Dispose() => ctx.Profile = previous;
    }

    /// <summary>Emits a shared helper once (keyed by name); helpers are written in sorted order.</summary>
    public void RequireHelper(string name, Action<SourceWriter> emit)
    {
        if (_helpers.ContainsKey(name)) return;
        var w = new SourceWriter();
        emit(w);
        _helpers[name] = w.ToString();
    }

    public IEnumerable<KeyValuePair<string, string>> Helpers => _helpers;

    private ParallelLayer? _parallel;
    private readonly List<string> _layerMethods = new();
    private IReadOnlyList<(string Type, string Name)> _layerParameters = Array.Empty<(string, string)>();
    private string _layerMethod = "";

    /// <summary>Starts a layer: its method name and pointer parameters (for <see cref="LayerStep"/>).</summary>
    public void BeginLayer(string method, IReadOnlyList<(string Type, string Name)> parameters)
    {
        _layerMethod = method;
        _layerParameters = parameters;
        _layerMethods.Clear();
    }

    /// <summary>Ends the layer; returns its step methods (<see cref="LayerStep"/>), to be written after the layer method.</summary>
    public IReadOnlyList<string> EndLayer()
    {
        var methods = new List<string>(_layerMethods);
        _layerMethods.Clear();
        return methods;
    }

    /// <summary>
    /// A statement calling a new private method of the layer, <c>{Layer}_{suffix}</c>, whose body <paramref name="body"/>
    /// sees the layer's pointer parameters and the <paramref name="locals"/> (type, name) under the same names: a step of a
    /// large unrolled loop body in a method of its own, so the JIT tracks its locals (at most 1024 per method,
    /// JitMaxLocalsToTrack; see <see cref="ParallelForPerIsa"/>) apart from the other steps'.
    /// </summary>
    public string LayerStep(string suffix, IReadOnlyList<(string Type, string Name)> locals, Action<SourceWriter> body)
    {
        string name = $"{_layerMethod}_{suffix}";
        var all = new List<(string Type, string Name)>(_layerParameters);
        foreach (var l in locals) if (!all.Exists(p => p.Name == l.Name)) all.Add(l);
        var mw = new SourceWriter();
        mw.WriteLine($"/// <summary>A step of {_layerMethod} in its own method.</summary>");
        mw.WriteLine(MethodImpl);
        mw.WriteLine(SkipLocalsInit);
        mw.OpenBlock($"private static void {name}({string.Join(", ", all.ConvertAll(p => $"{p.Type} {p.Name}"))})");
        body(mw);
        mw.CloseBlock();
        _layerMethods.Add(mw.ToString());
        return $"{name}({string.Join(", ", all.ConvertAll(p => p.Name))});";
    }

    /// <summary>The layer being emitted splits its work across workers (see <see cref="ParallelFor"/>).</summary>
    public bool InParallelLayer => _parallel is not null;

    /// <summary>Starts a layer whose <see cref="ParallelFor"/> loops become worker parts; its parameters go in <c>args</c>.</summary>
    /// <param name="method">The layer method.</param>
    /// <param name="parameters">Its pointer parameters.</param>
    /// <param name="workerScratch">Whether the pool gives each worker scratch for this layer (LayerEmitter.WorkerScratchBytes).</param>
    public void BeginParallelLayer(string method, IReadOnlyList<(string Type, string Name)> parameters, bool workerScratch) =>
        _parallel = new ParallelLayer(method, parameters) { WorkerScratch = workerScratch };

    /// <summary>Ends the parallel layer; returns its part methods, to be written after the layer method.</summary>
    public IReadOnlyList<string> EndParallelLayer()
    {
        IReadOnlyList<string> parts = _parallel?.Parts ?? new List<string>();
        _parallel = null;
        return parts;
    }

    /// <summary>Argument slots a parallel layer reserves for carried loop indices (then one for the chunk cursor).</summary>
    public const int MaxCarried = 4;

    /// <summary>
    /// A loop over [0, <paramref name="count"/>) whose body sees its range as <c>pb</c>..<c>pe</c>. In a serial layer the
    /// body is emitted in place with the whole range. In a parallel layer it becomes a static part method
    /// <c>{Layer}_Part{k}(nint* args, int worker, int workers, float* scratch)</c> that unpacks the layer's pointers
    /// (and the <paramref name="carried"/> int locals) and runs chunks of the range taken from a shared cursor; the layer
    /// calls it directly when it has no pool, or forks it over the pool. <paramref name="privateScratch"/> names a
    /// pointer parameter each worker must have its own copy of (worker 0 uses the layer's, others their pool scratch).
    /// </summary>
    public void ParallelFor(SourceWriter w, long count, Action<SourceWriter> body, IReadOnlyList<string>? carried = null, string? privateScratch = null)
    {
        carried ??= Array.Empty<string>();
        if (carried.Count > MaxCarried) throw new InvalidOperationException("too many carried loop indices");
        if (_parallel is null)
        {
            w.OpenBlock();
            w.WriteLine($"const int pb = 0, pe = {Long(count)};");
            body(w);
            w.CloseBlock();
            return;
        }
        // A private scratch the pool does not size for this layer would hand the workers too small a buffer.
        if (privateScratch is not null && !_parallel.WorkerScratch)
            throw new InvalidOperationException($"{_parallel.Method}: a private scratch loop in a layer without worker scratch (LayerEmitter.WorkerScratchBytes)");
        string part = $"{_parallel.Method}_Part{_parallel.Parts.Count}";
        var pw = new SourceWriter();
        pw.WriteLine($"/// <summary>Worker part {_parallel.Parts.Count} of {_parallel.Method}: its share of {Long(count)} iterations.</summary>");
        pw.WriteLine(MethodImpl);
        pw.WriteLine(SkipLocalsInit);
        pw.OpenBlock($"private static void {part}(nint* args, int worker, int workers, float* scratch)");
        for (int i = 0; i < _parallel.Parameters.Count; i++)
        {
            (string type, string name) = _parallel.Parameters[i];
            pw.WriteLine(name == privateScratch ? $"{type} {name} = scratch;" : $"{type} {name} = ({type})args[{i}];");
        }
        for (int j = 0; j < carried.Count; j++) pw.WriteLine($"int {carried[j]} = (int)args[{_parallel.Parameters.Count + j}];");
        // Dynamic chunks from a shared cursor, half the workers from each end: a worker on a busier core takes fewer (same
        // tiles, same results), and each half keeps to its end of the range from layer to layer.
        pw.WriteLine($"int* cursor = (int*)(args + {_parallel.Parameters.Count + MaxCarried});");
        pw.WriteLine($"int chunk = {RuntimeNs}.WorkerPool.ChunkSize({Long(count)}, workers);");
        pw.OpenBlock($"for (int pb; (pb = {RuntimeNs}.WorkerPool.NextChunk(cursor, chunk, {Long(count)}, worker, workers)) < {Long(count)};)");
        pw.WriteLine($"int pe = {Math}.Min(pb + chunk, {Long(count)});");
        body(pw);
        pw.CloseBlock();
        pw.CloseBlock();
        _parallel.Parts.Add(pw.ToString());
        for (int j = 0; j < carried.Count; j++) w.WriteLine($"args[{_parallel.Parameters.Count + j}] = {carried[j]};");
        w.WriteLine($"args[{_parallel.Parameters.Count + MaxCarried}] = 0;");
        string scratch0 = privateScratch ?? "null";
        w.WriteLine($"if (pool is null) {part}(args, 0, 1, {scratch0}); else pool.Run(&{part}, args, {scratch0});");
    }

    /// <summary>
    /// <see cref="ParallelFor"/> once per ISA of the profile (<see cref="PerIsa"/> outside): each ISA's loop is its own
    /// part method holding only that ISA's code. For large unrolled bodies: the JIT keeps at most 1024 locals of a method
    /// in registers (JitMaxLocalsToTrack) and counts the IL locals of the branches it folds away; past that, accumulators
    /// live on the stack (EfficientNet-B0's 5x5 depthwise layers at 28x28 ran 2.4x slower in one method with three ISAs).
    /// A part of an ISA the machine lacks is never compiled by the JIT.
    /// </summary>
    public void ParallelForPerIsa(SourceWriter w, long count, Action<SourceWriter, Isa> body, IReadOnlyList<string>? carried = null, string? privateScratch = null) =>
        PerIsa(w, (isa, _) => ParallelFor(w, count, b => body(b, isa), carried, privateScratch));

    private sealed class ParallelLayer(string method, IReadOnlyList<(string Type, string Name)> parameters)
    {
        public string Method { get; } = method;
        public IReadOnlyList<(string Type, string Name)> Parameters { get; } = parameters;
        public List<string> Parts { get; } = new();
        public bool WorkerScratch { get; init; }
    }

    /// <summary>Emits one branch per ISA of the profile (constant-folded by the JIT/AOT compiler).</summary>
    public void PerIsa(SourceWriter w, Action<Isa, int> body)
    {
        IReadOnlyList<Isa> isas = Profile.Isas;
        for (int i = 0; i < isas.Count; i++)
        {
            Isa isa = isas[i];
            if (isa.IsScalar)
            {
                if (i > 0)
                {
                    w.OpenBlock("else");
                    body(isa, i);
                    w.CloseBlock();
                }
                else
                {
                    body(isa, i);
                }
                return;
            }
            w.OpenBlock((i == 0 ? "if (" : "else if (") + isa.Guard + ")");
            body(isa, i);
            w.CloseBlock();
        }
    }

    public const string MethodImpl = "[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]";
    public const string Inline = "[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]";
    public const string SkipLocalsInit = "[global::System.Runtime.CompilerServices.SkipLocalsInit]";
    public const string Math = "global::System.Math";
    public const string MathF = "global::System.MathF";
    public const string RuntimeNs = "global::ModelGen.Runtime";

    public static string Long(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
