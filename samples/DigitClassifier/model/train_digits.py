#!/usr/bin/python3
"""Train the small digit CNN used by the DigitClassifier sample and export it to ONNX.

Reproducible by design: fixed seeds (python, numpy, torch), deterministic torch
algorithms, one CPU thread, no downloads (scikit-learn ships the digits dataset).

Outputs (paths relative to this file):
  digits.onnx                 the model: input "image" 1x1x8x8 float32 (pixel/16), output "logits" 1x10
  expected.txt                per written test image: file name, label, PyTorch prediction, 10 logits
  ../images/NNNN_labelD.pgm   40 held-out test images (binary PGM P5, 8x8, maxval 16)
  ../images/README.md         what the image files are

Run:  /usr/bin/python3 train_digits.py
"""

import os
import random
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import onnx
import sklearn
from onnx import numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20240601
EPOCHS = 40
BATCH = 32
LR = 2e-3
IMAGES_PER_CLASS = 4
OPSET = 13
ALLOWED_OPS = {
    "Conv", "Relu", "MaxPool", "BatchNormalization", "Add",
    "Flatten", "Reshape", "Gemm", "MatMul", "Identity", "Constant",
}

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES_DIR = os.path.normpath(os.path.join(HERE, "..", "images"))
ONNX_PATH = os.path.join(HERE, "digits.onnx")
EXPECTED_PATH = os.path.join(HERE, "expected.txt")


def seed_everything(seed):
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)


class DigitNet(nn.Module):
    """Conv(1->16,3x3,p1)-Relu-Conv(16->32,3x3,p1)-Relu-MaxPool(2)
       -Conv(32->32,3x3,p1)-Relu-MaxPool(2)-Flatten-Gemm(128->10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, kernel_size=3, padding=1)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))           # 16x8x8
        x = F.relu(self.conv2(x))           # 32x8x8
        x = F.max_pool2d(x, 2)              # 32x4x4
        x = F.relu(self.conv3(x))           # 32x4x4
        x = F.max_pool2d(x, 2)              # 32x2x2
        x = torch.flatten(x, 1)             # 128
        return self.fc(x)                   # 10 logits (no softmax)


def to_input(pixels_0_16):
    """uint8/float 0..16 pixels of shape (N, 64) -> float32 tensor (N, 1, 8, 8) holding pixel/16."""
    a = np.asarray(pixels_0_16, dtype=np.float32).reshape(-1, 1, 8, 8) / np.float32(16.0)
    return torch.from_numpy(a.astype(np.float32))


def shift(x, gen):
    """Augmentation: translate each image by -1..+1 pixels in x and y (zero fill)."""
    n = x.shape[0]
    d = torch.randint(0, 3, (n, 2), generator=gen)
    padded = F.pad(x, (1, 1, 1, 1))
    return torch.stack([padded[k, :, d[k, 0]:d[k, 0] + 8, d[k, 1]:d[k, 1] + 8] for k in range(n)])


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    return (pred == y).float().mean().item()


# ---------------------------------------------------------------------------
# Minimal numpy evaluator for the allowed op set (used because onnxruntime is
# not packaged in Debian 12). It reads the weights back from the .onnx file, so
# it checks the exported graph, not the PyTorch module.
# ---------------------------------------------------------------------------
def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, at):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    assert at.get("group", 1) == 1 and cg == c
    assert list(at.get("dilations", [1, 1])) == [1, 1]
    sh, sw = at.get("strides", [1, 1])
    pt, pl, pb, pr = at.get("pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    out = np.zeros((n, m, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]          # n,c,oh,ow
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def _maxpool(x, at):
    kh, kw = at["kernel_shape"]
    sh, sw = at.get("strides", [1, 1])
    pt, pl, pb, pr = at.get("pads", [0, 0, 0, 0])
    assert at.get("ceil_mode", 0) == 0
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return out


def run_onnx_numpy(model_proto, x):
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype.kind == "f"
           else numpy_helper.to_array(t) for t in model_proto.graph.initializer}
    env[model_proto.graph.input[0].name] = x.astype(np.float64)
    for node in model_proto.graph.node:
        at = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, at)
        elif op == "Relu":
            y = np.maximum(ins[0], 0.0)
        elif op == "MaxPool":
            y = _maxpool(ins[0], at)
        elif op == "Flatten":
            axis = at.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
        elif op == "Reshape":
            y = ins[0].reshape([int(d) for d in ins[1]])
        elif op == "Gemm":
            a, b = ins[0], ins[1]
            if at.get("transA", 0):
                a = a.T
            if at.get("transB", 0):
                b = b.T
            y = at.get("alpha", 1.0) * (a @ b)
            if len(ins) > 2 and ins[2] is not None:
                y = y + at.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Identity":
            y = ins[0]
        elif op == "Constant":
            y = numpy_helper.to_array(at["value"])
        elif op == "BatchNormalization":
            xx, s, bb, mean, var = ins[:5]
            sh = (1, -1, 1, 1)
            y = (xx - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + at.get("epsilon", 1e-5)) * s.reshape(sh) + bb.reshape(sh)
        else:
            raise RuntimeError("numpy evaluator: unsupported op " + op)
        env[node.output[0]] = y
    return env[model_proto.graph.output[0].name]


def write_pgm(path, pixels_0_16):
    data = np.asarray(pixels_0_16).reshape(8, 8)
    assert data.min() >= 0 and data.max() <= 16
    with open(path, "wb") as f:
        f.write(b"P5\n8 8\n16\n")
        f.write(data.astype(np.uint8).tobytes())


def main():
    seed_everything(SEED)
    print("python  %s" % sys.version.split()[0])
    print("torch   %s" % torch.__version__)
    print("sklearn %s" % sklearn.__version__)
    print("onnx    %s" % onnx.__version__)
    print("numpy   %s" % np.__version__)

    digits = load_digits()
    X = digits.data.astype(np.uint8)          # (1797, 64), values 0..16
    y = digits.target.astype(np.int64)        # (1797,)
    idx = np.arange(len(y))
    idx_train, idx_test = train_test_split(idx, test_size=0.2, stratify=y, random_state=0)
    idx_train = np.sort(idx_train)
    idx_test = np.sort(idx_test)
    print("dataset: %d images, train %d, test %d" % (len(y), len(idx_train), len(idx_test)))

    x_train, y_train = to_input(X[idx_train]), torch.from_numpy(y[idx_train])
    x_test, y_test = to_input(X[idx_test]), torch.from_numpy(y[idx_test])

    model = DigitNet()
    n_params = sum(p.numel() for p in model.parameters())
    print("network: %s" % DigitNet.__doc__.replace("\n", "").replace("       ", ""))
    print("parameters: %d" % n_params)

    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(y_train), generator=gen)
        total = 0.0
        for s in range(0, len(perm), BATCH):
            b = perm[s:s + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(shift(x_train[b], gen)), y_train[b])
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        sched.step()
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            print("epoch %2d  loss %.4f  train acc %.4f  test acc %.4f" % (
                epoch + 1, total / len(perm), accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)))

    model.eval()
    train_acc = accuracy(model, x_train, y_train)
    test_acc = accuracy(model, x_test, y_test)
    print("PyTorch accuracy: train %.4f (%d/%d), test %.4f (%d/%d)" % (
        train_acc, round(train_acc * len(y_train)), len(y_train),
        test_acc, round(test_acc * len(y_test)), len(y_test)))
    assert test_acc >= 0.97, "test accuracy below 97%"

    # ---- export ------------------------------------------------------------
    dummy = torch.zeros(1, 1, 8, 8, dtype=torch.float32)
    torch.onnx.export(
        model, dummy, ONNX_PATH,
        export_params=True, opset_version=OPSET, do_constant_folding=True,
        input_names=["image"], output_names=["logits"],
        training=torch.onnx.TrainingMode.EVAL,
    )
    proto = onnx.load(ONNX_PATH)
    onnx.checker.check_model(proto, full_check=True)
    ops = [n.op_type for n in proto.graph.node]
    print("ONNX ops (in order): %s" % " ".join(ops))
    print("ONNX op set: %s" % sorted(set(ops)))
    bad = set(ops) - ALLOWED_OPS
    assert not bad, "disallowed ops in exported graph: %s" % sorted(bad)

    def dims(vi):
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert dims(proto.graph.input[0]) == [1, 1, 8, 8], dims(proto.graph.input[0])
    assert dims(proto.graph.output[0]) == [1, 10], dims(proto.graph.output[0])
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    print("ONNX file: %s (%d bytes), opset %d" % (os.path.basename(ONNX_PATH), os.path.getsize(ONNX_PATH),
                                               proto.opset_import[0].version))
    assert os.path.getsize(ONNX_PATH) < 200 * 1024

    # ---- check the exported graph -------------------------------------------
    try:
        import onnxruntime as ort  # noqa: F401
        sess = ort.InferenceSession(ONNX_PATH, providers=["CPUExecutionProvider"])
        ort_pred = np.array([sess.run(None, {"image": x_test[i:i + 1].numpy()})[0].argmax()
                             for i in range(len(y_test))])
        print("onnxruntime test accuracy: %.4f" % (ort_pred == y_test.numpy()).mean())
    except ImportError:
        print("onnxruntime (python) not available: onnxruntime check skipped")

    with torch.no_grad():
        torch_test_logits = model(x_test).numpy()
    np_test_logits = run_onnx_numpy(proto, x_test.numpy())
    max_diff = float(np.abs(np_test_logits - torch_test_logits).max())
    np_acc = float((np_test_logits.argmax(1) == y_test.numpy()).mean())
    print("numpy evaluation of digits.onnx: test accuracy %.4f, max |logit diff| vs PyTorch %.2e" % (np_acc, max_diff))
    assert max_diff < 1e-3 and round(np_acc * len(y_test)) == round(test_acc * len(y_test))

    # ---- test images + expected outputs --------------------------------------
    os.makedirs(IMAGES_DIR, exist_ok=True)
    for name in os.listdir(IMAGES_DIR):
        if name.endswith(".pgm"):
            os.remove(os.path.join(IMAGES_DIR, name))
    chosen = []
    for digit in range(10):
        of_class = [i for i in idx_test if y[i] == digit]      # idx_test is sorted
        chosen.extend(of_class[:IMAGES_PER_CLASS])
    chosen.sort()

    lines = [
        "# Expected PyTorch outputs for the images in ../images (written by train_digits.py).",
        "# Input: pixel/16 as float32, shape 1x1x8x8, evaluated one image at a time (batch 1).",
        "# Columns: file label predicted logit0 .. logit9 (float32 values printed with %.9g, round-trip exact)",
    ]
    n_correct = 0
    for i in chosen:
        name = "%04d_label%d.pgm" % (i, y[i])
        write_pgm(os.path.join(IMAGES_DIR, name), X[i])
        with torch.no_grad():
            logits = model(to_input(X[i:i + 1]))[0].numpy().astype(np.float32)
        pred = int(logits.argmax())
        n_correct += pred == y[i]
        lines.append("%s %d %d %s" % (name, y[i], pred, " ".join("%.9g" % v for v in logits)))
    with open(EXPECTED_PATH, "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d images to %s (%d/%d predicted correctly) and %s" % (
        len(chosen), os.path.relpath(IMAGES_DIR, HERE), n_correct, len(chosen), os.path.basename(EXPECTED_PATH)))

    with open(os.path.join(IMAGES_DIR, "README.md"), "w", newline="\n") as f:
        f.write(
            "# Test images for the DigitClassifier sample\n\n"
            "40 held-out test images (4 per digit) from scikit-learn's digits dataset (`load_digits`, a copy of the "
            "UCI optdigits test set, BSD-3 via scikit-learn), written by `../model/train_digits.py`: binary PGM (P5), "
            "8x8, maxval 16, one byte per pixel holding the original 0..16 value.\n"
            "File name `NNNN_labelD.pgm`: NNNN is the image's index in `load_digits()`, D its true digit. "
            "The model input is pixel/16 (float32, 1x1x8x8); expected outputs are in `../model/expected.txt`.\n")


if __name__ == "__main__":
    main()
