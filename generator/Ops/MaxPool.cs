// Licensed under the MIT license.
// MaxPool — https://onnx.ai/onnx/operators/onnx__MaxPool.html (opsets 1, 8, 10, 11, 12, 22). ceil_mode and dilations
// from 10; storage_order only affects the Indices output, which is not supported when used.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Model;
using ModelGen.Generator.Ops.Shared;

namespace ModelGen.Generator.Ops;

internal sealed class MaxPool : PoolBase
{
    public override string OpType => "MaxPool";

    protected override PoolKind Kind => PoolKind.Max;

    protected override string[] KnownAttributes(Node node) => node.Opset >= 10
        ? new[] { "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides" }
        : new[] { "auto_pad", "kernel_shape", "pads", "storage_order", "strides" };
}
