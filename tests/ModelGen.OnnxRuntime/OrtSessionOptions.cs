// Session creation options (threads, graph optimization level).

namespace ModelGen.OnnxRuntime;

/// <summary>ONNX Runtime graph optimization levels (GraphOptimizationLevel).</summary>
public enum OrtGraphOptimization
{
    /// <summary>No graph optimizations (ORT_DISABLE_ALL).</summary>
    Disabled = 0,
    /// <summary>Semantics-preserving rewrites such as constant folding (ORT_ENABLE_BASIC).</summary>
    Basic = 1,
    /// <summary>Basic plus node fusions (ORT_ENABLE_EXTENDED).</summary>
    Extended = 2,
    /// <summary>All optimizations, including layout changes (ORT_ENABLE_ALL).</summary>
    All = 99,
}

/// <summary>Options for creating an <see cref="OrtSession"/>.</summary>
public sealed class OrtSessionOptions
{
    /// <summary>Threads used inside one operator; 0 lets ORT choose. Defaults to 1 (deterministic, comparable timings).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Threads used to run independent operators in parallel; 0 lets ORT choose. Defaults to 1.</summary>
    public int InterOpThreads { get; init; } = 1;

    /// <summary>The graph optimization level; defaults to <see cref="OrtGraphOptimization.All"/>.</summary>
    public OrtGraphOptimization Optimization { get; init; } = OrtGraphOptimization.All;

    /// <summary>
    /// When set, ORT records a per-node profile (Chrome trace JSON) into a file whose name starts with this prefix;
    /// <see cref="OrtSession.EndProfiling"/> closes it and returns its path.
    /// </summary>
    public string? ProfileFilePrefix { get; init; }

    /// <summary>Creates a native OrtSessionOptions (release with ReleaseSessionOptions).</summary>
    internal unsafe nint CreateNative()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(IntraOpThreads);
        ArgumentOutOfRangeException.ThrowIfNegative(InterOpThreads);
        nint options;
        OrtNative.Check(OrtNative.CreateSessionOptions(&options), "CreateSessionOptions");
        try
        {
            OrtNative.Check(OrtNative.SetIntraOpNumThreads(options, IntraOpThreads), "SetIntraOpNumThreads");
            OrtNative.Check(OrtNative.SetInterOpNumThreads(options, InterOpThreads), "SetInterOpNumThreads");
            OrtNative.Check(OrtNative.SetSessionGraphOptimizationLevel(options, (int)Optimization), "SetSessionGraphOptimizationLevel");
            if (ProfileFilePrefix is not null)
            {
                byte[] prefix = System.Text.Encoding.UTF8.GetBytes(ProfileFilePrefix + "\0");
                fixed (byte* p = prefix) OrtNative.Check(OrtNative.EnableProfiling(options, p), "EnableProfiling");
            }
            return options;
        }
        catch
        {
            OrtNative.ReleaseSessionOptions(options);
            throw;
        }
    }
}
