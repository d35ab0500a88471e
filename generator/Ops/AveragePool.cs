// Licensed under the MIT license.
// AveragePool — https://onnx.ai/onnx/operators/onnx__AveragePool.html (opsets 1, 7, 10, 11, 19, 22).
// count_include_pad from 7, ceil_mode from 10, dilations from 19.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Ops.Shared;

namespace ModelGen.Generator.Ops;

internal sealed class AveragePool : PoolBase
{
    public override string OpType => "AveragePool";

    protected override PoolKind Kind => PoolKind.Average;

    protected override string[] KnownAttributes(Node node) => node.Opset >= 19
        ? new[] { "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides" }
        : node.Opset >= 10
            ? new[] { "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides" }
            : new[] { "auto_pad", "count_include_pad", "kernel_shape", "pads", "strides" };

    protected override bool CountIncludePad(Node node) => node.Attributes.GetInt("count_include_pad", 0) != 0;
}
