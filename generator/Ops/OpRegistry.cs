// Licensed under the MIT license.
// The one table from (domain, op_type) to handler. Adding an op = adding its file and one line here.

using System.Collections.Generic;

namespace ModelGen.Generator.Ops;

internal static class OpRegistry
{
    private static readonly Dictionary<string, OpHandler> s_handlers = Build();

    public static OpHandler? Find(string domain, string opType) =>
        s_handlers.TryGetValue((domain == "ai.onnx" ? "" : domain) + ":" + opType, out OpHandler? h) ? h : null;

    public static IEnumerable<OpHandler> All => s_handlers.Values;

    private static Dictionary<string, OpHandler> Build()
    {
        var handlers = new OpHandler[]
        {
            new Conv(), new Gemm(), new MatMul(), new BatchNormalization(),
            new Clip(),
            new MaxPool(), new AveragePool(), new GlobalPool("GlobalAveragePool"), new GlobalPool("GlobalMaxPool"),
            new Concat(), new Reshape(), new Flatten(), new Softmax("Softmax"), new Softmax("LogSoftmax"), new Softmax("Hardmax"), new Dropout(), new Identity(), new ConstantOp(),
            new ShapeOp(size: false), new ShapeOp(size: true), new Gather(), new Unsqueeze(squeeze: false), new Unsqueeze(squeeze: true),
            new Slice(), new Cast(), new CastLike(), new Transpose(), new Expand(), new ConstantOfShape(), new RangeOp(),
            new Pad(), new ImageScaler(), new Crop(), new InstanceNormalization(), new LayerNormalization(), new Lrn(), new ConvTranspose(),
            new Resize(upsample: false), new Resize(upsample: true), new Split(), new Tile(), new DepthToSpace(toDepth: false),
            new DepthToSpace(toDepth: true), new LpPool(), new GlobalLpPool(),
        };
        var map = new Dictionary<string, OpHandler>();
        foreach (Unary.Definition d in Unary.Definitions) map[":" + d.OpType] = new Unary(d);
        foreach (Elementwise.Definition d in Elementwise.Definitions) map[":" + d.OpType] = new Elementwise(d);
        foreach (string op in Reduce.ReduceOps) map[":" + op] = new Reduce(op);
        foreach (OpHandler h in handlers) map[h.Domain + ":" + h.OpType] = h;
        return map;
    }
}
