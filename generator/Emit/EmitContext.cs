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
    public TargetProfile Profile { get; }

    /// <summary>Emits a shared helper once (keyed by name); helpers are written in sorted order.</summary>
    public void RequireHelper(string name, Action<SourceWriter> emit)
    {
        if (_helpers.ContainsKey(name)) return;
        var w = new SourceWriter();
        emit(w);
        _helpers[name] = w.ToString();
    }

    public IEnumerable<KeyValuePair<string, string>> Helpers => _helpers;

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
