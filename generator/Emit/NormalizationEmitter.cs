// Licensed under the MIT license.
// Normalisation kernels: InstanceNormalization, LayerNormalization, LRN. The statistics come from runtime Moments (one
// vectorised pass, float blocks combined in double), then one pass writes.

using System.Collections.Generic;
using ModelGen.Generator.Common;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Emit;

internal static class NormalizationEmitter
{
    private const string M = "global::System.Math";

    public static IEnumerable<string> Remarks(InstanceNormSpec s)
    {
        yield return $"lowering: instance normalisation of {s.Batch}x{s.Channels} planes of {s.Spatial} elements, epsilon {s.Epsilon}" +
            (s.Activation.Kind == ActivationKind.None ? "" : $", {s.Activation.Kind} in the writing pass");
    }

    public static void EmitInstanceNorm(InstanceNormSpec s, SourceWriter w, EmitContext ctx)
    {
        w.OpenBlock($"for (int n = 0; n < {s.Batch}; n++)");
        w.OpenBlock($"for (int c = 0; c < {s.Channels}; c++)");
        w.WriteLine($"long off = ((long)n * {s.Channels} + c) * {s.Spatial}L;");
        w.WriteLine("float* xp = X + off; float* yp = Y + off;");
        EmitMeanInvStd("xp", s.Spatial, s.Epsilon, w);
        w.WriteLine("double a = Scale[c] * inv, b = B[c] - mean * a;");
        w.WriteLine("float fa = (float)a, fb = (float)b;");
        if (s.Activation.Kind == ActivationKind.None || ActivationEmitter.IsHeavy(s.Activation))
        {
            w.WriteLine($"{EmitContext.RuntimeNs}.Moments.Affine(xp, yp, {s.Spatial}, fa, fb);");
            if (s.Activation.Kind != ActivationKind.None) w.WriteLine(ActivationEmitter.InPlace(s.Activation, "yp", EmitContext.Long(s.Spatial)));
        }
        else
        {
            // y = act(x * a + b) in one pass per ISA.
            ctx.PerIsa(w, (isa, _) =>
            {
                w.WriteLine("int i = 0;");
                if (!isa.IsScalar)
                {
                    if (ActivationEmitter.Prologue(s.Activation, isa) is string pro) w.WriteLine(pro);
                    w.WriteLine($"var va = {isa.Broadcast("fa")}; var vb = {isa.Broadcast("fb")};");
                    w.WriteLine($"for (; i <= {s.Spatial - isa.Width}; i += {isa.Width}) " +
                        isa.Store(ActivationEmitter.Apply(s.Activation, isa, isa.Fma(isa.Load("xp + i"), "va", "vb")), "yp + i"));
                }
                w.WriteLine($"for (; i < {s.Spatial}; i++) yp[i] = {ActivationEmitter.ApplyScalar(s.Activation, "(xp[i] * fa + fb)")};");
            });
        }
        w.CloseBlock();
        w.CloseBlock();
    }

    private static void EmitMeanInvStd(string xp, int count, float epsilon, SourceWriter w)
    {
        w.WriteLine($"{EmitContext.RuntimeNs}.Moments.MeanInvStdDev({xp}, {count}, {LoweringContext.FloatLiteral(epsilon)}, out double mean, out double inv);");
    }

    public static IEnumerable<string> Remarks(LayerNormSpec s)
    {
        yield return $"lowering: layer normalisation of {s.Outer} rows of {s.Inner} elements, epsilon {s.Epsilon}";
    }

    public static void EmitLayerNorm(LayerNormSpec s, SourceWriter w)
    {
        w.OpenBlock($"for (int o = 0; o < {s.Outer}; o++)");
        w.WriteLine($"float* xp = X + (long)o * {s.Inner}L; float* yp = Y + (long)o * {s.Inner}L;");
        EmitMeanInvStd("xp", s.Inner, s.Epsilon, w);
        w.WriteLine($"for (int i = 0; i < {s.Inner}; i++) yp[i] = (float)((xp[i] - mean) * inv * Scale[i]{(s.HasBias ? " + B[i]" : "")});");
        if (s.WritesMean) w.WriteLine("Mean[o] = (float)mean;");
        if (s.WritesInvStdDev) w.WriteLine("InvStdDev[o] = (float)inv;");
        w.CloseBlock();
    }

    public static IEnumerable<string> Remarks(LrnSpec s)
    {
        yield return $"lowering: LRN over {s.Channels} channels (size {s.Size}, alpha {s.Alpha}, beta {s.Beta}, bias {s.Bias}), {s.Spatial} pixels";
    }

    public static void EmitLrn(LrnSpec s, SourceWriter w)
    {
        int before = (s.Size - 1) / 2, after = s.Size - 1 - before;
        w.OpenBlock($"for (int n = 0; n < {s.Batch}; n++)");
        w.OpenBlock($"for (int c = 0; c < {s.Channels}; c++)");
        w.WriteLine($"int lo = {M}.Max(0, c - {before}), hi = {M}.Min({s.Channels - 1}, c + {after});");
        w.WriteLine($"float* yp = Y + ((long)n * {s.Channels} + c) * {s.Spatial}L;");
        w.WriteLine($"float* xc = X + ((long)n * {s.Channels} + c) * {s.Spatial}L;");
        w.OpenBlock($"for (int i = 0; i < {s.Spatial}; i++)");
        w.WriteLine("float sum = 0f;");
        w.WriteLine($"for (int k = lo; k <= hi; k++) {{ float v = X[((long)n * {s.Channels} + k) * {s.Spatial}L + i]; sum += v * v; }}");
        w.WriteLine($"yp[i] = xc[i] / global::System.MathF.Pow({LoweringContext.FloatLiteral(s.Bias)} + {LoweringContext.FloatLiteral(s.Alpha / s.Size)} * sum, {LoweringContext.FloatLiteral(s.Beta)});");
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
    }
}
