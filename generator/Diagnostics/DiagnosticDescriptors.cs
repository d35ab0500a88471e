// Licensed under the MIT license.
// The one catalog of ModelGen diagnostics. IDs are stable; each is documented in docs/diagnostics.md and tracked in
// AnalyzerReleases.*.md. Areas: MG00xx model file / IR, MG01xx operators, MG02xx shapes, MG03xx options and profiles,
// MG09xx internal.

using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace ModelGen.Generator.Diagnostics;

internal static class DiagnosticDescriptors
{
    private const string HelpBase = "https://github.com/modelgen/modelgen/blob/main/docs/diagnostics.md#";
    private const string InputCategory = "ModelGen.Input";
    private const string OpsCategory = "ModelGen.Operators";
    private const string ShapeCategory = "ModelGen.Shapes";
    private const string OptionsCategory = "ModelGen.Options";
    private const string InternalCategory = "ModelGen.Internal";

    public static readonly DiagnosticDescriptor MalformedModel = Make(
        "MG0001", "Malformed ONNX model",
        "Model file '{0}' is not a valid ONNX model: {1}",
        InputCategory, DiagnosticSeverity.Error,
        "The file could not be decoded as an ONNX ModelProto (truncated, corrupted or not an ONNX file). The message says what was expected at which byte offset.");

    public static readonly DiagnosticDescriptor UnreadableModel = Make(
        "MG0002", "Model file cannot be read",
        "Model file '{0}' cannot be read: {1}",
        InputCategory, DiagnosticSeverity.Error,
        "The AdditionalFiles item could not be opened or read.");

    public static readonly DiagnosticDescriptor ExternalData = Make(
        "MG0003", "Tensor stored as external data",
        "Tensor '{0}' keeps its data in an external file ('{1}'); ModelGen needs every tensor inside the .onnx file. Re-save the model with the data embedded (onnx.save_model(model, path, save_as_external_data=False)).",
        InputCategory, DiagnosticSeverity.Error,
        "External-data tensors are not embedded into the assembly.");

    public static readonly DiagnosticDescriptor UnsupportedElementType = Make(
        "MG0004", "Unsupported element type",
        "Tensor '{0}' has element type {1}, which ModelGen does not support {2}",
        InputCategory, DiagnosticSeverity.Error,
        "Graph inputs and outputs must be float32; computed tensors float32; weights float32, float16 or double; integer and bool tensors only where they are folded at build time.");

    public static readonly DiagnosticDescriptor InitializerIsInput = Make(
        "MG0005", "Initializer is also a graph input",
        "{0} graph input(s) have initializers ({1}); ModelGen treats them as constants and the generated Run does not take them",
        InputCategory, DiagnosticSeverity.Info,
        "In IR version 4 and later an initializer that is also listed as a graph input is an overridable default. ModelGen compiles it as a constant.");

    public static readonly DiagnosticDescriptor UnsupportedModelFeature = Make(
        "MG0006", "Unsupported model feature",
        "Model file '{0}' uses {1}, which ModelGen does not support",
        InputCategory, DiagnosticSeverity.Error,
        "The model uses an ONNX feature outside what ModelGen compiles (for example non-tensor graph inputs, sparse initializers or an unknown operator domain for the graph).");

    public static readonly DiagnosticDescriptor UnsupportedOperator = Make(
        "MG0100", "Unsupported operator",
        "Node '{0}' uses operator {1} (opset {2}), which ModelGen does not support{3}; the generated Run throws NotSupportedException",
        OpsCategory, DiagnosticSeverity.Warning,
        "One diagnostic is reported per offending node. The class still compiles so the rest of the project builds; its Run method throws NotSupportedException listing these nodes.");

    public static readonly DiagnosticDescriptor InvalidNode = Make(
        "MG0101", "Invalid node",
        "Node '{0}' ({1}) is invalid: {2}",
        OpsCategory, DiagnosticSeverity.Error,
        "The node violates the ONNX operator specification (missing input, bad attribute value, shapes that do not agree).");

    public static readonly DiagnosticDescriptor RuntimeDependentShape = Make(
        "MG0102", "Run-time-dependent shape",
        "Node '{0}' ({1}): input {2} must be known at build time (a constant, or computable from constants and static shapes), but it is computed at run time",
        OpsCategory, DiagnosticSeverity.Error,
        "ModelGen compiles every tensor with a static shape. Inputs that determine shapes (Reshape shape, Resize scales, Pad pads, Slice starts...) must fold to constants.");

    public static readonly DiagnosticDescriptor SymbolicBatchDefaulted = Make(
        "MG0200", "Symbolic batch dimension set to 1",
        "Input '{0}' has a symbolic leading dimension '{1}'; ModelGen compiles it as 1 (set ModelGenInputShape to choose another size)",
        ShapeCategory, DiagnosticSeverity.Info,
        "A symbolic leading (batch-like) dimension defaults to 1.");

    public static readonly DiagnosticDescriptor SymbolicDimensionNotPinned = Make(
        "MG0201", "Symbolic dimension not pinned",
        "Input '{0}' has symbolic dimension '{1}' at axis {2}; set ModelGenInputShape on the AdditionalFiles item (e.g. ModelGenInputShape=\"{3}\")",
        ShapeCategory, DiagnosticSeverity.Error,
        "ModelGen compiles every tensor with a static shape; non-batch symbolic dimensions must be pinned.");

    public static readonly DiagnosticDescriptor InvalidInputShapeOption = Make(
        "MG0202", "Invalid ModelGenInputShape",
        "ModelGenInputShape '{0}' is invalid: {1}",
        ShapeCategory, DiagnosticSeverity.Error,
        "Expected '1x3x224x224' (one input) or 'name=1x3x224x224;other=1x10' with positive sizes that agree with the model's fixed dimensions.");

    public static readonly DiagnosticDescriptor InvalidConstantInputsOption = Make(
        "MG0204", "Invalid ModelGenConstantInputs",
        "ModelGenConstantInputs '{0}' is invalid: {1}",
        ShapeCategory, DiagnosticSeverity.Error,
        "Expected 'name=v1,v2,...' entries separated by ';', naming graph inputs, with as many numbers as the input has elements.");

    public static readonly DiagnosticDescriptor TensorTooLarge = Make(
        "MG0203", "Tensor too large",
        "Tensor '{0}' would have {1} elements, more than ModelGen supports ({2})",
        ShapeCategory, DiagnosticSeverity.Error,
        "Every tensor must fit in a span (fewer than 2^31 elements) and the activation memory plan must fit in the address space.");

    public static readonly DiagnosticDescriptor UnknownProfile = Make(
        "MG0300", "Unknown target profile",
        "ModelGenProfile '{0}' is not a known profile; known profiles: {1}",
        OptionsCategory, DiagnosticSeverity.Error,
        "The ModelGenProfile item metadata names the target profile the model is lowered for.");

    public static readonly DiagnosticDescriptor DuplicateClassName = Make(
        "MG0301", "Two models map to the same class",
        "Models '{0}' and '{1}' both generate class '{2}'; set ModelGenClass (or ModelGenNamespace) on one of them",
        OptionsCategory, DiagnosticSeverity.Error,
        "Each model becomes one class; two models with the same full class name would collide. Neither is generated.");

    public static readonly DiagnosticDescriptor InvalidClassName = Make(
        "MG0302", "Invalid class or namespace name",
        "'{0}' is not a valid C# {1} name",
        OptionsCategory, DiagnosticSeverity.Error,
        "ModelGenClass must be a C# identifier; ModelGenNamespace a dotted sequence of identifiers.");

    public static readonly DiagnosticDescriptor InvalidWinogradOption = Make(
        "MG0303", "Invalid ModelGenWinograd",
        "ModelGenWinograd '{0}' is not one of F4 (the default), F2, Off",
        OptionsCategory, DiagnosticSeverity.Error,
        "ModelGenWinograd chooses the Winograd tiles 3x3 convolutions may use: F4 lets the cost model pick F(2x2,3x3) or F(4x4,3x3), F2 only F(2x2,3x3) (closer to ONNX Runtime), Off none.");

    public static readonly DiagnosticDescriptor InternalError = Make(
        "MG0900", "ModelGen internal error",
        "ModelGen failed on '{0}': {1}; please report this with the model",
        InternalCategory, DiagnosticSeverity.Error,
        "A bug in ModelGen; the model was not compiled. The message carries the exception.");

    public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
    {
        MalformedModel, UnreadableModel, ExternalData, UnsupportedElementType, InitializerIsInput,
        UnsupportedModelFeature, UnsupportedOperator, InvalidNode, RuntimeDependentShape, SymbolicBatchDefaulted,
        SymbolicDimensionNotPinned, InvalidInputShapeOption, TensorTooLarge, InvalidConstantInputsOption, UnknownProfile, DuplicateClassName,
        InvalidClassName, InvalidWinogradOption, InternalError,
    };

    private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = Index();

    public static DiagnosticDescriptor Get(string id) => s_byId[id];

    private static Dictionary<string, DiagnosticDescriptor> Index()
    {
        var map = new Dictionary<string, DiagnosticDescriptor>();
        foreach (DiagnosticDescriptor d in All) map.Add(d.Id, d);
        return map;
    }

    private static DiagnosticDescriptor Make(
        string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description: description,
            helpLinkUri: HelpBase + id.ToLowerInvariant());
}
