"""The DCGAN of ``jg.games.dcgan`` written in PyTorch on the same weights, as a PyTorch user
would write Berard et al.'s operator: the game's field by autograd with ``create_graph``, and
its Jacobian applied to vectors by double backward (``J^T v``; ARPACK on ``J^T`` finds the
same eigenvalues).

flax's layouts are mapped explicitly: images NHWC -> NCHW, kernels HWIO -> OIHW. A flax
``ConvTranspose`` (stride 2, ``SAME``, no kernel transpose) is ``lax.conv_transpose``: the
input dilated by 2, padded ``(k + s - 2)`` split as ``ceil/2`` before and the rest after,
then a plain correlation with the kernel; a flax stride-2 ``SAME`` convolution pads
``max((out - 1) s + k - in, 0)`` split ``floor/2`` before. ``check_field`` confirms the
port: its field equals jaxgan's to rounding.
"""

from __future__ import annotations

import math
import os

import numpy as np


def _same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def build(ng, w):
    """``(field, leaves, n)``: the flat field ``v = -xi`` as a torch tensor with its graph, and the leaves."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count() or 1)
    t = lambda a: torch.tensor(np.asarray(a), requires_grad=True)  # noqa: E731
    gp = {name: {kk: t(vv) for kk, vv in layer.items()} for name, layer in w.phi["params"].items()}
    dp = {name: {kk: t(vv) for kk, vv in layer.items()} for name, layer in w.theta["params"].items()}
    h = int(math.isqrt(ng.data.shape[1]))  # single-channel square images
    stages = int(math.log2(h // 4))

    def conv(x, layer, stride):
        k = layer["kernel"].shape[0]
        lo, hi = _same_pads(x.shape[-1], k, stride)
        x = F.pad(x, (lo, hi, lo, hi))
        return F.conv2d(x, layer["kernel"].permute(3, 2, 0, 1), layer["bias"], stride=stride)

    def conv_transpose(x, layer, stride=2):
        k = layer["kernel"].shape[0]
        n, c, hh, ww = x.shape
        dil = x.new_zeros((n, c, (hh - 1) * stride + 1, (ww - 1) * stride + 1))
        dil[:, :, ::stride, ::stride] = x
        pad_len = k + stride - 2
        lo = k - 1 if stride > k - 1 else -(-pad_len // 2)
        hi = pad_len - lo
        dil = F.pad(dil, (lo, hi, lo, hi))
        return F.conv2d(dil, layer["kernel"].permute(3, 2, 0, 1), layer["bias"])

    def generator(z):
        ch = gp["project"]["kernel"].shape[1] // 16
        x = torch.relu(z @ gp["project"]["kernel"] + gp["project"]["bias"]).reshape(-1, 4, 4, ch).permute(0, 3, 1, 2)
        for i in range(stages):
            x = torch.relu(conv_transpose(x, gp[f"up{i}"]))
        x = conv(x, gp["to_image"], 1)
        return torch.tanh(x).permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    def discriminator(x):
        x = x.reshape(-1, h, h, 1).permute(0, 3, 1, 2)
        x = F.leaky_relu(conv(x, dp["from_image"], 1), 0.2)
        for i in range(stages):
            x = F.leaky_relu(conv(x, dp[f"down{i}"], 2), 0.2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return (x @ dp["logit"]["kernel"] + dp["logit"]["bias"])[:, 0]

    x_real = torch.tensor(np.asarray(ng.data))
    z = torch.tensor(np.asarray(ng.latents))
    logsig = F.logsigmoid
    # L = E f(D(G z)) + E f(-D x), f = log sigmoid; the generator minimises L, D maximises it
    L = logsig(discriminator(generator(z))).mean() + logsig(-discriminator(x_real)).mean()
    # the same leaf order as jax.tree.leaves (dict keys sorted)
    leaves_g = [gp[a][b] for a in sorted(gp) for b in sorted(gp[a])]
    leaves_d = [dp[a][b] for a in sorted(dp) for b in sorted(dp[a])]
    g_phi = torch.autograd.grad(L, leaves_g, create_graph=True)
    g_theta = torch.autograd.grad(-L, leaves_d, create_graph=True)
    field = torch.cat([-g.reshape(-1) for g in g_phi + g_theta])
    return field, leaves_g + leaves_d


def operator(ng, w):
    """A ``scipy.sparse.linalg.LinearOperator`` applying ``J^T`` by double backward."""
    import scipy.sparse.linalg as sla
    import torch

    field, leaves = build(ng, w)
    n = field.numel()

    def rmatvec(v):
        out = torch.autograd.grad(field, leaves, grad_outputs=torch.tensor(np.real(v).astype(np.float64)), retain_graph=True)
        return torch.cat([o.reshape(-1) for o in out]).numpy()

    def matvec(v):
        v = np.asarray(v)
        return rmatvec(v.real) + 1j * rmatvec(v.imag) if np.iscomplexobj(v) else rmatvec(v)

    return sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64), field.detach().numpy()


def check_field(ng, w, torch_field):
    """Largest |torch field - jaxgan field| over the largest |jaxgan field|."""
    from jax.flatten_util import ravel_pytree

    import jaxgan as jg

    ref = np.asarray(ravel_pytree(jg.vector_field(ng.game)(w))[0])
    return float(np.max(np.abs(torch_field - ref)) / np.max(np.abs(ref)))
