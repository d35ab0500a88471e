// Licensed under the MIT license.
// Pass 1: ONNX ModelProto -> IR graph. Resolves opsets, turns initializers into constants (file slices, no copy),
// checks graph input/output types, and fixes every input dimension (pinned by ModelGenInputShape, a batch-like
// leading symbol defaulting to 1, or an error).

using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;

namespace ModelGen.Generator.Passes;

internal static class Importer
{
    public static Graph? Import(OnnxModelProto model, byte[] bytes, string inputShapeOption, string constantInputsOption, DiagnosticBag diagnostics)
    {
        string file = System.IO.Path.GetFileName(diagnostics.FilePath);
        OnnxGraphProto g = model.Graph!;
        var graph = new Graph(bytes) { IrVersion = model.IrVersion, Producer = (model.ProducerName + " " + model.ProducerVersion).Trim() };
        foreach ((string domain, long version) in model.OpsetImports)
        {
            string d = domain == "ai.onnx" ? "" : domain;
            if (version <= 0 || version > int.MaxValue)
            {
                diagnostics.Report(DiagnosticDescriptors.MalformedModel, file, $"opset_import for domain '{domain}' has version {version}");
                return null;
            }
            graph.Opsets[d] = (int)version;
        }
        if (!graph.Opsets.ContainsKey(""))
        {
            // IR version 3+ requires opset_import; very old files without it are opset 1, which ModelGen does not compile.
            diagnostics.Report(DiagnosticDescriptors.UnsupportedModelFeature, file, "no ai.onnx opset import");
            return null;
        }
        if (g.SparseInitializerCount > 0)
        {
            diagnostics.Report(DiagnosticDescriptors.UnsupportedModelFeature, file, "sparse initializers");
            return null;
        }

        // Initializers become constants: float32 data stays a slice of the model file.
        var unusable = new Dictionary<string, string>();
        foreach (OnnxTensorProto t in g.Initializers)
        {
            if (t.ExternalData)
            {
                diagnostics.Report(DiagnosticDescriptors.ExternalData, t.Name, t.ExternalLocation);
                continue;
            }
            if (t.HasSegment)
            {
                diagnostics.Report(DiagnosticDescriptors.UnsupportedModelFeature, file, $"a segmented tensor ('{t.Name}')");
                continue;
            }
            try
            {
                graph.GetOrAddValue(t.Name).Constant = Constant.FromTensorProto(t, bytes, $"initializer '{t.Name}'");
                graph.Values[t.Name].Type = t.DataType;
                graph.Values[t.Name].Shape = graph.Values[t.Name].Constant!.Shape;
            }
            catch (UnsupportedNodeException)
            {
                unusable[t.Name] = t.DataType.ToString();
            }
            catch (InvalidNodeException e)
            {
                diagnostics.Report(DiagnosticDescriptors.MalformedModel, file, e.Message);
                return null;
            }
        }
        if (diagnostics.HasErrors) return null;

        Dictionary<string, int[]>? pinned = ParseInputShapes(inputShapeOption, g, diagnostics);
        if (pinned is null) return null;
        var frozen = new HashSet<string>(StringComparer.Ordinal);
        if (!FreezeInputs(constantInputsOption, g, graph, frozen, diagnostics)) return null;

        var constantInputs = new List<string>();
        foreach (OnnxValueInfoProto input in g.Inputs)
        {
            Value v = graph.GetOrAddValue(input.Name);
            if (v.Constant is not null)
            {
                if (!frozen.Contains(input.Name)) constantInputs.Add(input.Name);
                continue;
            }
            if (!CheckIoTensor(input, "graph input", diagnostics)) continue;
            int[]? shape = ResolveInputShape(input, pinned, diagnostics);
            if (shape is null) continue;
            // Each dimension fits in an int, but the tensor must too (found by DiagnosticTests.MG0203: a 65536x65536
            // input passed straight to an output generated code that did not compile instead of reporting MG0203).
            long elements = Shapes.Product(shape);
            if (elements > int.MaxValue)
            {
                diagnostics.Report(DiagnosticDescriptors.TensorTooLarge, input.Name, elements, "2^31 - 1 elements");
                continue;
            }
            v.Type = input.Type!.ElemType;
            v.Shape = shape;
            v.GraphInputIndex = graph.Inputs.Count;
            graph.Inputs.Add(v);
        }
        // Before IR version 4 every initializer had to be listed as an input: that is not worth a diagnostic.
        if (graph.IrVersion >= 4 && constantInputs.Count > 0)
        {
            string names = string.Join(", ", constantInputs.GetRange(0, Math.Min(5, constantInputs.Count)).ConvertAll(n => "'" + n + "'"))
                + (constantInputs.Count > 5 ? $" and {constantInputs.Count - 5} more" : "");
            diagnostics.Report(DiagnosticDescriptors.InitializerIsInput, constantInputs.Count, names);
        }
        foreach (string name in pinned.Keys)
        {
            if (name.Length > 0 && !graph.Inputs.Exists(i => i.Name == name))
                diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, inputShapeOption, $"the model has no run-time input named '{name}'");
        }

        foreach (OnnxNodeProto n in g.Nodes)
        {
            string domain = n.Domain == "ai.onnx" ? "" : n.Domain;
            graph.Opsets.TryGetValue(domain, out int opset);
            // Unnamed nodes (common in older exporters) are named after their op, position and first output for diagnostics.
            string nodeName = n.Name.Length > 0 ? n.Name
                : $"{n.OpType}#{graph.Nodes.Count}" + (n.Outputs.Count > 0 && n.Outputs[0].Length > 0 ? $" -> {n.Outputs[0]}" : "");
            var node = new Node(nodeName, n.OpType, domain, opset) { Attributes = new Attributes(n.Attributes) };
            foreach (string name in n.Inputs)
            {
                if (name.Length == 0)
                {
                    node.Inputs.Add(null);
                    continue;
                }
                if (unusable.TryGetValue(name, out string? type))
                {
                    diagnostics.Report(DiagnosticDescriptors.UnsupportedElementType, name, type, $"(used by {n.OpType} '{n.Name}')");
                }
                Value v = graph.GetOrAddValue(name);
                node.Inputs.Add(v);
                v.Consumers.Add(node);
            }
            foreach (string name in n.Outputs)
            {
                // An empty output name is an unused optional output; give it a private value.
                Value v = name.Length == 0 ? graph.NewValue($"{n.Name}:unused") : graph.GetOrAddValue(name);
                if (v.Producer is not null || v.Constant is not null || v.IsGraphInput)
                {
                    diagnostics.Report(DiagnosticDescriptors.MalformedModel, file, $"tensor '{name}' is produced twice (by {n.OpType} '{n.Name}')");
                    return null;
                }
                v.Producer = node;
                node.Outputs.Add(v);
            }
            graph.Nodes.Add(node);
        }
        foreach (OnnxValueInfoProto output in g.Outputs)
        {
            if (!CheckIoTensor(output, "graph output", diagnostics)) continue;
            Value v = graph.GetOrAddValue(output.Name);
            v.GraphOutputIndices.Add(graph.Outputs.Count);
            graph.Outputs.Add(v);
        }
        if (graph.Outputs.Count == 0 && !diagnostics.HasErrors)
        {
            diagnostics.Report(DiagnosticDescriptors.UnsupportedModelFeature, file, "a graph without outputs");
        }
        return diagnostics.HasErrors ? null : graph;
    }

    /// <summary>
    /// ModelGenConstantInputs: graph inputs given build-time values ("name=1,2,3;other=0.5") become constants, so the
    /// shapes they determine (Resize scales, Reshape shape, Slice starts...) fold. The generated Run no longer takes them.
    /// </summary>
    private static bool FreezeInputs(string option, OnnxGraphProto g, Graph graph, HashSet<string> frozen, DiagnosticBag diagnostics)
    {
        option = option.Trim();
        if (option.Length == 0) return true;
        foreach (string part in option.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidConstantInputsOption, option, $"'{part.Trim()}' is not name=values");
                return false;
            }
            string name = part.Substring(0, eq).Trim();
            OnnxValueInfoProto? input = g.Inputs.Find(i => i.Name == name);
            if (input is null || graph.Values.TryGetValue(name, out Value? existing) && existing.Constant is not null)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidConstantInputsOption, option, $"the model has no run-time input named '{name}'");
                return false;
            }
            string text = part.Substring(eq + 1).Trim();
            string[] items = text.Length == 0 ? new string[0] : text.Split(',');
            var values = new double[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                if (!double.TryParse(items[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidConstantInputsOption, option, $"'{items[i].Trim()}' is not a number");
                    return false;
                }
            }
            OnnxDataType type = input.Type?.ElemType ?? OnnxDataType.Undefined;
            if (input.Type?.Kind != OnnxTypeKind.Tensor || Constant.ElementSize(type) == 0 || type is OnnxDataType.Float16 or OnnxDataType.BFloat16)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidConstantInputsOption, option, $"input '{name}' has element type {type}");
                return false;
            }
            // The declared shape when it is static and agrees; otherwise a vector of the values given.
            int[] shape = new[] { values.Length };
            List<OnnxDim>? dims = input.Type.Shape;
            if (dims is not null && dims.TrueForAll(d => d.Value is > 0 || (d.Value == 0 && d.Param is null)))
            {
                var declared = dims.ConvertAll(d => (int)(d.Value ?? 0)).ToArray();
                if (Shapes.Product(declared) != values.Length)
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidConstantInputsOption, option,
                        $"input '{name}' has shape {Shapes.Format(declared)} ({Shapes.Product(declared)} elements), {values.Length} values were given");
                    return false;
                }
                shape = declared;
            }
            else if (dims is not null && dims.Count != 1)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidConstantInputsOption, option, $"input '{name}' has rank {dims.Count} with unknown dimensions; only vectors can be inferred");
                return false;
            }
            Constant c = type == OnnxDataType.Float ? Constant.FromFloats(shape, Array.ConvertAll(values, v => (float)v))
                : type == OnnxDataType.Double ? Constant.FromDoubles(shape, values)
                : Constant.FromLongs(type, shape, Array.ConvertAll(values, v => (long)v));
            Value value = graph.GetOrAddValue(name);
            value.Constant = c;
            value.Type = type;
            value.Shape = shape;
            frozen.Add(name);
        }
        return true;
    }

    /// <summary>Element types a graph input or output may have (the generated Run takes buffers of these).</summary>
    internal static bool IsIoType(OnnxDataType t) => t is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Int64
        or OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Bool;

    private static bool CheckIoTensor(OnnxValueInfoProto info, string role, DiagnosticBag diagnostics)
    {
        OnnxTypeProto? type = info.Type;
        if (type is null || type.Kind != OnnxTypeKind.Tensor)
        {
            diagnostics.Report(DiagnosticDescriptors.UnsupportedModelFeature, System.IO.Path.GetFileName(diagnostics.FilePath),
                $"{role} '{info.Name}' of kind {type?.Kind.ToString() ?? "unknown"} (only tensors are supported)");
            return false;
        }
        if (!IsIoType(type.ElemType))
        {
            diagnostics.Report(DiagnosticDescriptors.UnsupportedElementType, info.Name, type.ElemType,
                $"as a {role} (supported: float, double, int64, int32, int16, uint16, int8, uint8, bool)");
            return false;
        }
        return true;
    }

    private static int[]? ResolveInputShape(OnnxValueInfoProto input, Dictionary<string, int[]> pinned, DiagnosticBag diagnostics)
    {
        List<OnnxDim>? dims = input.Type!.Shape;
        int[]? pin = pinned.TryGetValue(input.Name, out int[]? p) ? p : pinned.TryGetValue("", out p) ? p : null;
        if (dims is null)
        {
            if (pin is not null) return pin;
            diagnostics.Report(DiagnosticDescriptors.SymbolicDimensionNotPinned, input.Name, "(unknown rank)", 0, $"{input.Name}=1x3x224x224");
            return null;
        }
        if (pin is not null)
        {
            if (pin.Length != dims.Count)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, FormatShape(pin), $"input '{input.Name}' has rank {dims.Count}, the option gives {pin.Length} dimensions");
                return null;
            }
            for (int i = 0; i < dims.Count; i++)
            {
                if (dims[i].Value is long fixedDim && fixedDim >= 0 && fixedDim != pin[i])
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, FormatShape(pin), $"input '{input.Name}' has fixed size {fixedDim} at axis {i}, the option gives {pin[i]}");
                    return null;
                }
            }
            return pin;
        }
        var shape = new int[dims.Count];
        bool ok = true;
        for (int i = 0; i < dims.Count; i++)
        {
            // dim_value sits in a oneof, so an explicit 0 is on the wire (a real empty axis); unset means unknown.
            if (dims[i].Value is long d && d >= 0)
            {
                if (d > int.MaxValue)
                {
                    diagnostics.Report(DiagnosticDescriptors.TensorTooLarge, input.Name, d, "2^31 elements");
                    return null;
                }
                shape[i] = (int)d;
                continue;
            }
            string symbol = dims[i].Param ?? "?";
            if (i == 0 && dims.Count >= 2)
            {
                shape[i] = 1;
                diagnostics.Report(DiagnosticDescriptors.SymbolicBatchDefaulted, input.Name, symbol);
                continue;
            }
            ok = false;
            var example = new string[dims.Count];
            for (int j = 0; j < dims.Count; j++) example[j] = dims[j].Value is long v && v > 0 ? v.ToString(CultureInfo.InvariantCulture) : (j == 0 ? "1" : "N");
            diagnostics.Report(DiagnosticDescriptors.SymbolicDimensionNotPinned, input.Name, symbol, i, input.Name + "=" + string.Join("x", example));
        }
        return ok ? shape : null;
    }

    /// <summary>Parses "1x3x224x224" (key "") or "a=1x3;b=1x10". Returns null after reporting MG0202.</summary>
    private static Dictionary<string, int[]>? ParseInputShapes(string option, OnnxGraphProto g, DiagnosticBag diagnostics)
    {
        var map = new Dictionary<string, int[]>(StringComparer.Ordinal);
        option = option.Trim();
        if (option.Length == 0) return map;
        foreach (string part in option.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            string entry = part.Trim();
            string name = "";
            int eq = entry.IndexOf('=');
            if (eq >= 0)
            {
                name = entry.Substring(0, eq).Trim();
                entry = entry.Substring(eq + 1).Trim();
            }
            else if (option.IndexOf(';') >= 0)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, option, "with several entries each must be name=shape");
                return null;
            }
            string[] dims = entry.Split(new[] { 'x', 'X', ',' }, StringSplitOptions.None);
            var shape = new int[dims.Length];
            for (int i = 0; i < dims.Length; i++)
            {
                if (!int.TryParse(dims[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] <= 0)
                {
                    diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, option, $"'{dims[i]}' is not a positive integer");
                    return null;
                }
            }
            if (map.ContainsKey(name))
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, option, $"input '{name}' is given twice");
                return null;
            }
            map[name] = shape;
        }
        if (map.ContainsKey(""))
        {
            int runtimeInputs = 0;
            var initializers = new HashSet<string>();
            foreach (OnnxTensorProto t in g.Initializers) initializers.Add(t.Name);
            foreach (OnnxValueInfoProto i in g.Inputs) if (!initializers.Contains(i.Name)) runtimeInputs++;
            if (runtimeInputs != 1)
            {
                diagnostics.Report(DiagnosticDescriptors.InvalidInputShapeOption, option, $"the model has {runtimeInputs} inputs; use name=shape entries");
                return null;
            }
        }
        return map;
    }

    private static string FormatShape(int[] s) => string.Join("x", s);
}
