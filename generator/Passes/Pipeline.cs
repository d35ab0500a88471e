// Licensed under the MIT license.
// The orchestrator. The flow for one model:
//   options check -> OnnxParser (bytes -> ModelProto) -> Importer (-> IR graph, static input shapes)
//   -> TopologicalSort -> ShapeInference (+ build-time folding) -> DeadNodeElimination
//   -> [simplify] FoldBatchNorm -> FoldBiasAdd -> FuseActivations -> FoldChannelScale -> DeadNodeElimination -> BlockedLayout
//   -> Lowering (per-profile kernels, output binding) -> MemoryPlanner -> ModelSpec.
// Every failure is a diagnostic; nothing here throws on user input (the generator also catches as a last resort).

using System.Threading;
using ModelGen.Generator.Common;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Targets;

namespace ModelGen.Generator.Passes;

internal static class Pipeline
{
    public const string DefaultProfile = "x64";

    public static ModelResult Compile(ModelRequest request, byte[] bytes, CancellationToken ct)
    {
        var diagnostics = new DiagnosticBag(request.Path);
        string className = request.ClassName.Length > 0
            ? request.ClassName
            : Identifiers.PascalCase(System.IO.Path.GetFileNameWithoutExtension(request.Path));
        string ns = request.Namespace.Length > 0 ? request.Namespace : request.RootNamespace;
        string fullName = ns.Length > 0 ? ns + "." + className : className;

        ModelResult Done(ModelSpec? spec) => new(request.Path, fullName, diagnostics.HasErrors ? null : spec, diagnostics.Items.ToEquatableArray());

        string profileName = request.Profile.Length > 0 ? request.Profile : DefaultProfile;
        TargetProfile? profile = TargetProfile.Find(profileName);
        if (profile is null)
        {
            var names = new System.Collections.Generic.List<string>();
            foreach (TargetProfile p in TargetProfile.All) names.Add(p.Name);
            diagnostics.Report(DiagnosticDescriptors.UnknownProfile, profileName, string.Join(", ", names));
        }
        if (profile is not null)
        {
            // ModelGenWinograd: F4 (the profile's tiles), F2 (F(2x2,3x3) only: about 10x less rounding error per layer), Off.
            switch (request.Winograd.ToUpperInvariant())
            {
                case "":
                case "F4":
                    break;
                case "F2":
                    profile = profile with { WinogradTiles = new[] { 2 } };
                    break;
                case "OFF":
                    profile = profile with { WinogradTiles = System.Array.Empty<int>() };
                    break;
                default:
                    diagnostics.Report(DiagnosticDescriptors.InvalidWinogradOption, request.Winograd);
                    break;
            }
        }
        if (!Identifiers.IsValidIdentifier(className)) diagnostics.Report(DiagnosticDescriptors.InvalidClassName, className, "class");
        if (ns.Length > 0 && !Identifiers.IsValidNamespace(ns)) diagnostics.Report(DiagnosticDescriptors.InvalidClassName, ns, "namespace");
        if (diagnostics.HasErrors) return Done(null);

        OnnxModelProto model;
        try
        {
            model = OnnxParser.ParseModel(bytes);
        }
        catch (OnnxFormatException e)
        {
            diagnostics.Report(DiagnosticDescriptors.MalformedModel, request.FileName, e.Message);
            return Done(null);
        }
        ct.ThrowIfCancellationRequested();

        Graph? graph = Importer.Import(model, bytes, request.InputShape, request.ConstantInputs, diagnostics);
        if (graph is null || !TopologicalSort.Run(graph, diagnostics)) return Done(null);

        var unsupported = ShapeInference.Run(graph, diagnostics, ct);
        if (diagnostics.HasErrors) return Done(null);
        DeadNodeElimination.Run(graph);
        if (request.Simplify && unsupported.Count == 0)
        {
            if (profile!.FuseBatchNorm)
            {
                FoldBatchNorm.Run(graph);
                FoldBiasAdd.Run(graph);
            }
            if (profile.FuseActivations) FuseActivations.Run(graph);
            FoldChannelScale.Run(graph, profile);
            DeadNodeElimination.Run(graph);
            BlockedLayout.Run(graph, profile);
        }

        LoweringContext? ctx = unsupported.Count == 0 ? Lowering.Run(graph, profile!, unsupported, diagnostics, ct) : null;
        if (diagnostics.HasErrors) return Done(null);
        return Done(Lowering.BuildSpec(graph, ctx, request, className, ns, bytes, unsupported));
    }
}
