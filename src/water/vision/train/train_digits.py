#!/usr/bin/python3
"""Trains the drum-digit CNN the register reader runs (src/water/vision/digit_classifier.cc) and
exports it to ONNX for OpenCV's dnn module.

    make train-digits            # = the two commands below, after building mh_eval_digits
    build/src/water/vision/mh_eval_digits --list-split DATA/train > split.txt
    /usr/bin/python3 src/water/vision/train/train_digits.py --split split.txt \
        --out src/water/vision/model/digits_cnn.onnx \
        --reference src/water/vision/model/digits_cnn_reference.txt

Needs Debian's python3-torch, python3-opencv and python3-numpy (apt-get install; use
/usr/bin/python3, which has them); nothing of it is needed to build or test MeterHub.
Deterministic: the same data, seed and thread count give the same file, byte for byte
(--check-reproducible trains twice and compares).

The split file (from mh_eval_digits --list-split) puts whole meter groups on one side: consecutive
frames of one meter are near-duplicates, and a validation split that separates them flatters the
model. The model is trained on the training side only; the validation side stays held out for the
choices below, the reader's confidence cut-off and the regression guard in ctest.

K-fold validation by meter (--folds 5): fold 0 is the split's validation side, the training
side's meter groups are dealt to folds 1-4, and one network per fold is trained on the other
folds, so every training crop is read once by a network that never saw its meter. Each fold's
probabilities (plain and per test-time view) go to --oof DIR; --report-folds DIR [DIR2 ...] sums
them up (several directories: their mean, an ensemble). The folds can run as separate processes:

    nice -n 19 /usr/bin/python3 src/water/vision/train/train_digits.py --split split.txt \
        --folds 5 --fold K --oof kfold/base            # K = 0..4
    /usr/bin/python3 src/water/vision/train/train_digits.py --split split.txt --report-folds kfold/base

Fold 0's network is the one the plain command writes (same crops, order and seed).

Every choice (augmentation, synthetic fonts, epochs, widths, test-time views) was made on that
validation (the experiments are listed in model/README.md); the test crops (other meters) are
only evaluated.
"""
import argparse
import hashlib
import io
import math
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The classifier's input: grey, scaled (INTER_AREA) to WIDTH x HEIGHT, standardised per crop.
# digit_classifier.cc does the same steps; keep the two in step.
WIDTH, HEIGHT = 24, 48


def standardise(grey):
    """Grey uint8 crop of any size -> float32 HEIGHT x WIDTH, zero mean, unit deviation."""
    small = cv2.resize(grey, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float64)
    mean, dev = small.mean(), small.std()
    return ((small - mean) / max(dev, 1.0)).astype(np.float32)


def load_split(split_file):
    """[(side, group, path, label, fine)] from mh_eval_digits --list-split's lines."""
    rows = []
    with open(split_file) as f:
        for line in f:
            side, group, path = line.rstrip('\n').split(' ', 2)
            folder = os.path.basename(os.path.dirname(path))
            if folder == 'transition':
                fine = float(os.path.basename(path).split('_', 1)[0])
                label = min(9, int(math.floor(fine)))
            else:
                label = int(folder)
                fine = float(label)
            rows.append((side, int(group), path, label, fine))
    return rows


def grey_of(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        sys.exit('cannot decode ' + path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class Net(nn.Module):
    """Conv blocks (one or two 3x3 convolutions with batch norm and ReLU, then a 2x2 max pool)
    and two dense layers; the model: widths 16, 32, 64, the last two blocks doubled, 144k weights."""

    def __init__(self, widths=(16, 32, 64), hidden=64, dropout=0.3, double=()):
        super().__init__()
        layers, c = [], 1
        for i, w in enumerate(widths):
            for _ in range(2 if i in double else 1):
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
                c = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        cells = (HEIGHT >> len(widths)) * (WIDTH >> len(widths))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c * cells, hidden), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden, 10))

    def forward(self, x):
        return self.head(self.features(x))


class WithSoftmax(nn.Module):
    """What is exported: the probabilities of the ten digits."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return F.softmax(self.net(x), dim=1)


# ---- augmentation: photo-like changes of a grey crop, drawn from one numpy generator ----------

def affine(grey, rng, a):
    h, w = grey.shape
    angle = rng.uniform(-a.rotate, a.rotate)
    sx, sy = 1 + rng.uniform(-a.scale, a.scale), 1 + rng.uniform(-a.scale, a.scale)
    dx, dy = rng.uniform(-a.shift_x, a.shift_x) * w, rng.uniform(-a.shift_y, a.shift_y) * h
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    m[0, :2] *= sx
    m[1, :2] *= sy
    m[0, 2] += dx + (1 - sx) * w / 2.0
    m[1, 2] += dy + (1 - sy) * h / 2.0
    return cv2.warpAffine(grey, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def in_context(grey, left, right, rng):
    """The drum between two neighbours on a dark frame, cut as a segmenter cuts a cell: a little
    off-centre, too wide or narrow, with or without the frame's edge."""
    dw, dh, gap, pad = 28, 52, 2, 4
    strip = np.full((dh + 2 * pad, 3 * (dw + gap)), rng.randint(10, 61), np.uint8)
    for i, d in enumerate((left, grey, right)):
        strip[pad:pad + dh, i * (dw + gap) + gap // 2:i * (dw + gap) + gap // 2 + dw] = \
            cv2.resize(d, (dw, dh), interpolation=cv2.INTER_AREA)
    cell = dw + gap
    x = int(cell + rng.uniform(-0.08, 0.08) * cell)
    w = int(cell * (1 + rng.uniform(-0.08, 0.08)))
    inset = rng.randint(0, 10)
    return strip[inset:strip.shape[0] - inset, x:x + w].copy()


def in_drum(grey, above, below, rng, a):
    """A whole digit as a taller or shifted cut of its drum shows parts of its neighbours: crops of
    d-1 above and d+1 below, the window up to `a.vcontext_height` taller than the digit and moved
    up or down by up to `a.vcontext_shift` of it (less than a roll the lower-digit label stands for)."""
    h, w = grey.shape
    gap = int(round(h * rng.uniform(0.0, 0.25)))
    bg = int(np.median(np.concatenate([grey[0], grey[-1]])))
    size = (w, h)
    column = np.vstack([cv2.resize(above, size, interpolation=cv2.INTER_AREA), np.full((gap, w), bg, np.uint8),
                        grey, np.full((gap, w), bg, np.uint8), cv2.resize(below, size, interpolation=cv2.INTER_AREA)])
    tall = int(round(h * (1 + rng.uniform(0, a.vcontext_height))))
    centre = h + gap + h / 2.0 + rng.uniform(-a.vcontext_shift, a.vcontext_shift) * h
    y0 = int(round(centre - tall / 2.0))
    y0 = max(0, min(column.shape[0] - tall, y0))
    return column[y0:y0 + tall].copy()


def roll_between(lower, upper, offset):
    """A drum rolled `offset` (0..1) of its height from digit d towards d+1: the lower part of d
    above the upper part of d+1."""
    size = (WIDTH * 2, HEIGHT * 2)
    stacked = np.vstack([cv2.resize(lower, size, interpolation=cv2.INTER_AREA),
                         cv2.resize(upper, size, interpolation=cv2.INTER_AREA)])
    y = int(round(offset * size[1]))
    return stacked[y:y + size[1]].copy()


# Segments of a seven-segment digit: (x0, y0, x1, y1) in a 1 x 2 box, and the digits' segments.
SEGMENTS = {'a': (0, 0, 1, 0), 'b': (1, 0, 1, 1), 'c': (1, 1, 1, 2), 'd': (0, 2, 1, 2), 'e': (0, 1, 0, 2),
            'f': (0, 0, 0, 1), 'g': (0, 1, 1, 1)}
SEVEN = ['abcdef', 'bc', 'abdeg', 'abcdg', 'bcfg', 'acdfg', 'acdefg', 'abc', 'abcdefg', 'abcdfg']
FONTS = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
         cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL]


def draw_glyph(canvas, d, box, ink, style, rng):
    """Draws digit d into box (x, y, w, h) of canvas: a Hershey font or seven segments."""
    x, y, w, h = box
    if style['seven']:
        t = style['thickness']
        slant = style['slant']
        for seg in SEVEN[d]:
            x0, y0, x1, y1 = SEGMENTS[seg]
            # shorten each segment a little at both ends, as real segments leave gaps
            sx, sy = (x1 - x0) * 0.12, (y1 - y0) * 0.06
            pts = []
            for px, py in ((x0 + sx, y0 + sy), (x1 - sx, y1 - sy)):
                yy = y + py / 2 * h
                pts.append((int(round(x + px * w + slant * (y + h / 2 - yy))), int(round(yy))))
            cv2.line(canvas, pts[0], pts[1], ink, t, cv2.LINE_AA)
        return
    text = str(d)
    font = style['font']
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, style['thickness'])
    scale = min(h / max(th, 1), 1.1 * w / max(tw, 1))
    (tw, th), _ = cv2.getTextSize(text, font, scale, style['thickness'])
    org = (int(round(x + (w - tw) / 2)), int(round(y + (h + th) / 2)))
    cv2.putText(canvas, text, org, font, scale, ink, style['thickness'], cv2.LINE_AA)


def synthetic_drum(d, rng, offset=0.0):
    """A drum of a font the photos may not have: digits d-1, d, d+1 stacked at a pitch as on a
    drum, light on dark or dark on light, cut around d moved by `offset` of the pitch (a roll
    towards d+1 when positive)."""
    W, H = 36, 64
    gh = int(H * rng.uniform(0.55, 0.8))
    gw = int(gh * rng.uniform(0.45, 0.65))
    pitch = gh * rng.uniform(1.25, 1.6)
    bg = rng.randint(0, 256)
    ink = rng.randint(0, 256)
    if abs(ink - bg) < 80:
        ink = (bg + 128 + rng.randint(-40, 41)) % 256
    style = {'seven': rng.rand() < 0.4, 'font': FONTS[rng.randint(len(FONTS))] | (16 if rng.rand() < 0.2 else 0),
             'thickness': int(rng.randint(1, 4) if rng.rand() >= 0.4 else max(2, gh // rng.randint(6, 11))),
             'slant': rng.uniform(0, 0.15) if rng.rand() < 0.5 else 0.0}
    if style['seven']:
        style['thickness'] = max(2, int(gh / rng.uniform(6, 10)))
    tall = int(pitch * 3 + H)
    canvas = np.full((tall, W), bg, np.uint8)
    centre = tall / 2
    for k in (-1, 0, 1, 2):
        top = centre + (k - offset) * pitch - gh / 2
        if top + gh < 0 or top > tall:
            continue
        draw_glyph(canvas, (d + k) % 10, ((W - gw) / 2, top, gw, gh), int(ink), style, rng)
    y0 = int(round(centre - H / 2))
    return canvas[y0:y0 + H].copy()


def photometric(grey, rng, a):
    out = grey.astype(np.float32)
    contrast = rng.uniform(a.contrast_lo, 1.2)
    out = (out - 128) * contrast + 128 + rng.uniform(-a.brightness, a.brightness)
    if rng.rand() < a.gradient:  # uneven light or glare across the drum
        h, w = out.shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, 1.0) * max(w, h)
        out += rng.uniform(-60, 90) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.rand() < a.blur:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.3))
    if rng.rand() < a.lowres:  # a far or small photo: fewer pixels, scaled back up
        h, w = out.shape
        f = rng.uniform(0.35, 0.7)
        small = cv2.resize(out, (max(4, int(w * f)), max(4, int(h * f))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if a.noise > 0:
        out = np.clip(out + rng.normal(0, rng.uniform(0, a.noise), out.shape), 0, 255).astype(np.uint8)
    if rng.rand() < a.invert:
        out = 255 - out
    return out


def epoch_set(crops, labels, fines, whole_by_digit, rng, a):
    """One epoch's inputs: every crop once, changed; plus synthetic rolled drums."""
    xs, ys = [], []
    n = len(crops)
    for i in range(n):
        g = crops[i]
        if a.vcontext > 0 and fines[i] == labels[i] and rng.rand() < a.vcontext:
            d = labels[i]
            above, below = whole_by_digit[(d + 9) % 10], whole_by_digit[(d + 1) % 10]
            g = in_drum(g, above[rng.randint(len(above))], below[rng.randint(len(below))], rng, a)
        if rng.rand() < a.context:
            g = in_context(g, crops[rng.randint(n)], crops[rng.randint(n)], rng)
        xs.append(standardise(photometric(affine(g, rng, a), rng, a)))
        ys.append(labels[i])
    for _ in range(int(round(a.fonts * n))):
        d = rng.randint(10)
        roll = rng.uniform(a.roll_min, a.roll_max) if rng.rand() < 0.2 else rng.uniform(-0.06, 0.06)
        g = synthetic_drum(d, rng, roll)
        xs.append(standardise(photometric(affine(g, rng, a), rng, a)))
        ys.append(d)
    rolled = int(round(a.synthetic * n))
    for _ in range(rolled):
        d = rng.randint(10)
        lower = whole_by_digit[d][rng.randint(len(whole_by_digit[d]))]
        nxt = whole_by_digit[(d + 1) % 10]
        upper = nxt[rng.randint(len(nxt))]
        g = roll_between(lower, upper, rng.uniform(a.roll_min, a.roll_max))
        xs.append(standardise(photometric(affine(g, rng, a), rng, a)))
        ys.append(d)
    return torch.from_numpy(np.stack(xs)[:, None]), torch.tensor(ys, dtype=torch.long)


# ---- training and evaluation ---------------------------------------------------------------------

def train(crops, labels, fines, a, log=print):
    """The network trained on grey crops with their digits (fine labels tell the whole ones)."""
    torch.manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    whole_by_digit = [[] for _ in range(10)]
    for g, y, f in zip(crops, labels, fines):
        if f == y:
            whole_by_digit[y].append(g)
    net = Net(tuple(a.widths), a.hidden, a.dropout, tuple(a.double))
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    step, steps = 0, None
    for epoch in range(a.epochs):
        x, y = epoch_set(crops, labels, fines, whole_by_digit, rng, a)
        order = torch.randperm(len(y))
        x, y = x[order], y[order]
        n_batches = (len(y) + a.batch - 1) // a.batch
        if steps is None:
            steps = n_batches * a.epochs
        net.train()
        total = 0.0
        for b in range(n_batches):
            # one cycle: linear warm-up over the first 10 % of the steps, then cosine down to 0
            frac = step / steps
            lr = a.lr * (frac / 0.1 if frac < 0.1 else 0.5 * (1 + math.cos(math.pi * (frac - 0.1) / 0.9)))
            for group in opt.param_groups:
                group['lr'] = lr
            xb, yb = x[b * a.batch:(b + 1) * a.batch], y[b * a.batch:(b + 1) * a.batch]
            loss = F.cross_entropy(net(xb), yb, label_smoothing=a.smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(yb)
            step += 1
        if a.verbose and (epoch % 5 == 4 or epoch == a.epochs - 1):
            log('epoch %d loss %.4f' % (epoch + 1, total / len(y)), flush=True)
    net.eval()
    return net


def probabilities(net, crops):
    with torch.no_grad():
        x = torch.from_numpy(np.stack([standardise(g) for g in crops])[:, None])
        return F.softmax(net(x), dim=1).numpy()


def tta_views(grey):
    """Test-time views of a crop: itself, cut 6 % narrower at each side, and 6 % taller at top or bottom
    (edge pixels repeated)."""
    h, w = grey.shape
    dx, dy = max(1, int(round(0.06 * w))), max(1, int(round(0.06 * h)))
    pad = cv2.copyMakeBorder(grey, dy, dy, 0, 0, cv2.BORDER_REPLICATE)
    return [grey, grey[:, dx:w - dx], pad[:h + dy], pad[dy:]]


def tta_probabilities(net, crops):
    """Per view: (views, crops, 10)."""
    views = [tta_views(g) for g in crops]
    return np.stack([probabilities(net, [v[k] for v in views]) for k in range(len(views[0]))])


def report(name, p, labels, fines, paths=None):
    read = p.argmax(1)
    labels, fines = np.array(labels), np.array(fines)
    whole = fines == labels
    ok = read == labels
    conf = np.zeros((10, 10), int)
    for t, r in zip(labels[whole], read[whole]):
        conf[t, r] += 1
    loss = -np.mean(np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-9)))
    print('%s: whole digits %d/%d = %.2f %%, transitions %d/%d = %.2f %%, all %.2f %%, log-loss %.3f' % (
        name, ok[whole].sum(), whole.sum(), 100.0 * ok[whole].mean(), ok[~whole].sum(), (~whole).sum(),
        100.0 * ok[~whole].mean() if (~whole).any() else 0, 100.0 * ok.mean(), loss))
    print('  whole digits, truth\\read ' + ' '.join('%4d' % d for d in range(10)))
    for t in range(10):
        print('  %24d ' % t + ' '.join('%4d' % v for v in conf[t]))
    if paths is not None:
        for i in np.flatnonzero(~ok):
            print('  wrong: %s read %d (p %.2f), truth %d (p %.2f)' % (paths[i], read[i], p[i, read[i]], labels[i],
                                                                     p[i, labels[i]]))
    sys.stdout.flush()
    return ok[whole].mean()


def export(net, path, opset):
    model = WithSoftmax(net).eval()
    buf = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 1, HEIGHT, WIDTH), buf, opset_version=opset, input_names=['crop'],
                      output_names=['probability'], dynamic_axes={'crop': {0: 'n'}, 'probability': {0: 'n'}},
                      do_constant_folding=True)
    data = buf.getvalue()
    with open(path, 'wb') as f:
        f.write(data)
    # OpenCV's dnn (the same library the C++ reader links) must read it and agree with PyTorch.
    # (torch merges equal initialisers into Identity nodes that OpenCV 4.6 cannot parse; a
    # trained network has none, an untrained one may.)
    x = torch.from_numpy(np.random.RandomState(1).normal(size=(5, 1, HEIGHT, WIDTH)).astype(np.float32))
    cv_net = cv2.dnn.readNetFromONNX(path)
    cv_net.setInput(x.numpy())
    got = cv_net.forward()
    with torch.no_grad():
        want = model(x).numpy()
    if got.shape != want.shape or np.abs(got - want).max() > 1e-5:
        sys.exit('OpenCV dnn disagrees with PyTorch on the exported %s: %s' % (path, np.abs(got - want).max()))
    return data


def write_reference(net, validation_rows, path):
    """PyTorch's probabilities on eight validation crops, for the C++/PyTorch agreement test."""
    picks = validation_rows[::max(1, len(validation_rows) // 8)][:8]
    pr = probabilities(net, [grey_of(r[2]) for r in picks])
    with open(path, 'w') as f:
        f.write('# file (under the data directory) and the ten probabilities PyTorch gives it\n')
        for r, q in zip(picks, pr):
            rel = os.path.join(os.path.basename(os.path.dirname(r[2])), os.path.basename(r[2]))
            f.write(rel + ' ' + ' '.join('%.7f' % v for v in q) + '\n')
    print('wrote ' + path)


def fold_of_groups(rows, folds):
    """Whole meter groups to folds: fold 0 is the split's validation side (so fold 0's network is the
    one --out would write), the training side's groups go to folds 1..K-1, largest group first, each
    to the fold with the fewest crops so far."""
    size, fold = {}, {}
    for r in rows:
        size[r[1]] = size.get(r[1], 0) + 1
        if r[0] == 'validation':
            fold[r[1]] = 0
    load = [0] * folds
    for g in sorted(size, key=lambda g: (-size[g], g)):
        if g in fold:
            continue
        k = min(range(1, folds), key=lambda k: (load[k], k))
        fold[g] = k
        load[k] += size[g]
    return fold


def cross_validate(rows, a):
    """Trains one network per fold on the other folds' meters and saves its probabilities on the fold's
    crops (plain and per test-time view) to --oof DIR/fold<K>.npz; --report-folds sums them up."""
    fold = fold_of_groups(rows, a.folds)
    crops = [grey_of(r[2]) for r in rows]
    for k in ([a.fold] if a.fold is not None else range(a.folds)):
        tr = [i for i, r in enumerate(rows) if fold[r[1]] != k]
        va = [i for i, r in enumerate(rows) if fold[r[1]] == k]
        t0 = time.time()
        net = train([crops[i] for i in tr], [rows[i][3] for i in tr], [rows[i][4] for i in tr], a)
        views = tta_probabilities(net, [crops[i] for i in va])
        print('fold %d: %d training crops, %d held out, trained in %.0f s' % (k, len(tr), len(va), time.time() - t0))
        report('fold %d' % k, views[0], [rows[i][3] for i in va], [rows[i][4] for i in va])
        if k == 0 and a.out:
            data = export(net, a.out, a.opset)
            print('wrote %s (%d bytes, sha256 %s)' % (a.out, len(data), hashlib.sha256(data).hexdigest()))
            if a.reference:
                write_reference(net, [rows[i] for i in va], a.reference)
        os.makedirs(a.oof, exist_ok=True)
        np.savez(os.path.join(a.oof, 'fold%d.npz' % k), paths=np.array([rows[i][2] for i in va]),
                 groups=np.array([rows[i][1] for i in va]), labels=np.array([rows[i][3] for i in va]),
                 fines=np.array([rows[i][4] for i in va]), views=views)


def svm_probabilities(files):
    """The SVM's out-of-fold probabilities: the "P path label fine p0 .. p9" lines mh_train_digits
    --fold-file F --fold K prints, one file per fold."""
    out = {}
    for f in files:
        for line in open(f):
            if line.startswith('P '):
                x = line.split()
                out[x[1]] = np.array([float(v) for v in x[4:14]])
    return out


def report_folds(dirs, svm_files=(), shares=()):
    """The out-of-fold figures of one or more runs' --oof directories (several: the mean of their
    probabilities, an ensemble), plain and with the test-time views averaged; with --svm, the SVM
    alone and the network's probabilities blended with the SVM's at each --svm-share."""
    runs = []
    for d in dirs:
        parts = [np.load(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith('.npz')]
        order = np.argsort(np.concatenate([p['paths'] for p in parts]), kind='stable')
        runs.append({key: np.concatenate([p[key] for p in parts], axis=1 if key == 'views' else 0)[..., order, :]
                     if key == 'views' else np.concatenate([p[key] for p in parts])[order]
                     for key in ('paths', 'labels', 'fines', 'views')})
    r0 = runs[0]
    views = np.mean([r['views'] for r in runs], axis=0)
    report(' + '.join(dirs) + ' plain', views[0], r0['labels'], r0['fines'], r0['paths'])
    report(' + '.join(dirs) + ' test-time views', views.mean(0), r0['labels'], r0['fines'])
    if svm_files:
        svm = svm_probabilities(svm_files)
        missing = [p for p in r0['paths'] if str(p) not in svm]
        if missing:
            sys.exit('no SVM probabilities for %d crops, e.g. %s' % (len(missing), missing[0]))
        q = np.array([svm[str(p)] for p in r0['paths']])
        report('SVM', q, r0['labels'], r0['fines'])
        for w in shares:
            report('network + SVM at %.2f' % w, (1 - w) * views[0] + w * q, r0['labels'], r0['fines'],
                   r0['paths'])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--split', help='output of mh_eval_digits --list-split DATA/train')
    p.add_argument('--out', help='ONNX file to write (trained on the training side)')
    p.add_argument('--reference', help='also write the model\'s probabilities on a few validation crops here '
                   '(the C++/PyTorch agreement test reads them)')
    p.add_argument('--seed', type=int, default=20260101)
    p.add_argument('--threads', type=int, default=1,
                   help='1: OpenMP threads spin badly on a shared machine (6x slower with 2 here)')
    p.add_argument('--opset', type=int, default=11)
    p.add_argument('--epochs', type=int, default=30)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--weight-decay', type=float, default=1e-3)
    p.add_argument('--smoothing', type=float, default=0.05)
    p.add_argument('--widths', type=int, nargs='+', default=[16, 32, 64])
    p.add_argument('--double', type=int, nargs='*', default=[1, 2], help='blocks (0-based) with two convolutions')
    p.add_argument('--hidden', type=int, default=64)
    p.add_argument('--dropout', type=float, default=0.3)
    # augmentation
    p.add_argument('--rotate', type=float, default=5, help='degrees, +-')
    p.add_argument('--scale', type=float, default=0.10)
    p.add_argument('--shift-x', type=float, default=0.10)
    p.add_argument('--shift-y', type=float, default=0.08)
    p.add_argument('--contrast-lo', type=float, default=0.5)
    p.add_argument('--brightness', type=float, default=40)
    p.add_argument('--gradient', type=float, default=0.2, help='share with uneven light / glare')
    p.add_argument('--blur', type=float, default=0.3)
    p.add_argument('--lowres', type=float, default=0.2)
    p.add_argument('--noise', type=float, default=6)
    p.add_argument('--invert', type=float, default=0.0)
    p.add_argument('--context', type=float, default=0.5, help='share cut from a strip of three drums')
    p.add_argument('--synthetic', type=float, default=0.5, help='synthetic rolled drums per crop and epoch')
    p.add_argument('--fonts', type=float, default=0.6, help='synthetic drums of other fonts per crop and epoch')
    p.add_argument('--roll-min', type=float, default=0.15)
    p.add_argument('--roll-max', type=float, default=0.85)
    p.add_argument('--vcontext', type=float, default=0.0,
                   help='share of whole-digit crops cut from a drum with their neighbours above and below')
    p.add_argument('--vcontext-height', type=float, default=0.8, help='window up to this much taller')
    p.add_argument('--vcontext-shift', type=float, default=0.08, help='window moved up to this share up or down')
    p.add_argument('--folds', type=int, default=0, help='K-fold validation by meter group instead of training')
    p.add_argument('--fold', type=int, help='only this fold (0-based), e.g. to run folds in parallel')
    p.add_argument('--oof', default='kfold', help='directory for the out-of-fold probabilities')
    p.add_argument('--report-folds', nargs='+', help='sum up these --oof directories and stop')
    p.add_argument('--svm', nargs='+', default=[], help='with --report-folds: mh_train_digits --fold outputs')
    p.add_argument('--svm-share', type=float, nargs='+', default=[0.2, 0.3, 0.4, 0.5],
                   help='with --svm: blends to report')
    p.add_argument('--write-folds', help='write the crops\' folds ("K path" lines, for mh_train_digits --fold-file) and stop')
    p.add_argument('--verbose', action='store_true')
    p.add_argument('--show-errors', action='store_true', help='list the validation crops read wrong')
    p.add_argument('--check-reproducible', action='store_true', help='train twice, compare the ONNX bytes')
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.use_deterministic_algorithms(True)
    if a.report_folds:
        report_folds(a.report_folds, a.svm, a.svm_share)
        return 0
    if not a.split:
        p.error('--split is needed')
    rows = load_split(a.split)
    if a.write_folds:
        fold = fold_of_groups(rows, a.folds or 5)
        with open(a.write_folds, 'w') as f:
            for r in rows:
                f.write('%d %s\n' % (fold[r[1]], r[2]))
        return 0
    if a.folds:
        cross_validate(rows, a)
        return 0
    tr = [r for r in rows if r[0] == 'training']
    va = [r for r in rows if r[0] == 'validation']
    t0 = time.time()
    tr_crops = [grey_of(r[2]) for r in tr]
    va_crops = [grey_of(r[2]) for r in va]
    print('training side %d crops, validation side %d crops (%d meter groups held out)' % (
        len(tr), len(va), len(set(r[1] for r in va))))
    net = train(tr_crops, [r[3] for r in tr], [r[4] for r in tr], a)
    print('trained in %.0f s' % (time.time() - t0))
    report('validation', probabilities(net, va_crops), [r[3] for r in va], [r[4] for r in va],
           [r[2] for r in va] if a.show_errors else None)
    if a.out:
        data = export(net, a.out, a.opset)
        print('wrote %s (%d bytes, sha256 %s)' % (a.out, len(data), hashlib.sha256(data).hexdigest()))
        if a.check_reproducible:
            again = export(train(tr_crops, [r[3] for r in tr], [r[4] for r in tr], a), a.out + '.again', a.opset)
            same = again == data
            os.remove(a.out + '.again')
            print('reproducible: %s' % ('yes, byte for byte' if same else 'NO'))
            if not same:
                return 1
    if a.reference:
        write_reference(net, va, a.reference)
    return 0


if __name__ == '__main__':
    sys.exit(main())
