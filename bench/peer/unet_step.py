#!/usr/bin/env python3
"""PyTorch peer for the KohyaPS benchmarks.

The same model as KohyaPS.Engine's TrainingModel (UNet2DConditionModel in diffusers' SD1.x layout plus the small
CLIP-style text encoder), written here from the engine's Models/*.cs, with the same state-dict names, so that
the parameter counts can be compared one to one. One training step = text encoder + UNet forward, MSE against
the noise, backward, AdamW step, zero_grad -- on tensors made once, like the bare TorchSharp loop.

Two ways to run it:
  unet_step.py --preset tiny --res 32 --batch 8 --steps 10      one measurement, JSON on stdout
  unet_step.py --serve                                          JSON commands on stdin, one JSON answer per line
      {"cmd": "setup", "preset": "tiny", "res": 32, "batch": 8, "tokens": 16, "vocab": 40, "text_layers": 2, "threads": 2}
      {"cmd": "run", "warmup": 2, "steps": 5}
      {"cmd": "quit"}
Serving lets the benchmark interleave rounds (ours, peer, ours, peer, ...) without paying Python's start-up
and model construction for every round.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------- configurations
# Mirrors UNetConfig.Tiny / UNetConfig.Small and TextEncoderConfig.Tiny / .Small (width = cross-attention dim).
UNET_PRESETS = {
    "tiny": dict(in_channels=3, out_channels=3, block_out_channels=[16, 32], layers_per_block=1,
                 down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
                 up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
                 attention_heads=[2, 2], cross_attention_dim=32, norm_num_groups=8, norm_eps=1e-5,
                 transformer_layers_per_block=1),
    "small": dict(in_channels=3, out_channels=3, block_out_channels=[32, 64, 96], layers_per_block=1,
                  down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                  up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                  attention_heads=[4, 4, 4], cross_attention_dim=64, norm_num_groups=8, norm_eps=1e-5,
                  transformer_layers_per_block=1),
}
TEXT_SHAPES = {32: dict(heads=2, intermediate=128), 64: dict(heads=4, intermediate=256)}


class FlopCounter:
    """Forward multiply-adds x 2 of convolutions, linear layers and attention products (what the engine counts)."""

    def __init__(self):
        self.total = 0
        self.enabled = False

    def add(self, flops):
        if self.enabled:
            self.total += int(flops)


FLOPS = FlopCounter()


def _count_conv(module, inputs, output):
    k = module.kernel_size[0] * module.kernel_size[1]
    FLOPS.add(2 * module.in_channels * module.out_channels * k * output.shape[0] * output.shape[2] * output.shape[3])


def _count_linear(module, inputs, output):
    FLOPS.add(2 * module.in_features * module.out_features * (output.numel() // module.out_features))


def attention(q, k, v, causal=False):
    """softmax(q k^T / sqrt(d)) v over [B, heads, L, d]; torch 1.13 has no fused scaled_dot_product_attention."""
    b, h, lq, d = q.shape
    lk = k.shape[2]
    FLOPS.add(2 * 2 * b * h * lq * lk * d)
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
    if causal:
        mask = torch.ones(lq, lk, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.matmul(scores.softmax(dim=-1), v)


def group_norm(groups, channels, eps):
    return nn.GroupNorm(groups, channels, eps=eps, affine=True)


# ------------------------------------------------------------------------------------------------------ UNet
class Timesteps(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
        args = t.float().unsqueeze(1) * freqs.unsqueeze(0)
        emb = torch.cat([args.cos(), args.sin()], dim=1)  # flip_sin_to_cos=True
        if self.dim % 2 == 1:
            emb = F.pad(emb, (0, 1))
        return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, in_channels, dim):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = group_norm(groups, cin, eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = group_norm(groups, cout, eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, query_dim, heads, dim_head, context_dim=None):
        super().__init__()
        inner = heads * dim_head
        context_dim = context_dim or query_dim
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(0.0)])

    def _split(self, x):
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x, context=None):
        ctx = x if context is None else context
        out = attention(self._split(self.to_q(x)), self._split(self.to_k(ctx)), self._split(self.to_v(ctx)))
        b, h, n, d = out.shape
        out = out.transpose(1, 2).reshape(b, n, h * d)
        return self.to_out[1](self.to_out[0](out))


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        hidden, gate = self.proj(x).chunk(2, dim=-1)
        return hidden * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, cross_dim, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn1 = Attention(dim, heads, dim_head)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.attn2 = Attention(dim, heads, dim_head, cross_dim)
        self.norm3 = nn.LayerNorm(dim, eps=eps)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    def __init__(self, heads, dim_head, channels, layers, cross_dim, groups, eps):
        super().__init__()
        inner = heads * dim_head
        self.norm = group_norm(groups, channels, 1e-6)
        self.proj_in = nn.Conv2d(channels, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, heads, dim_head, cross_dim, eps) for _ in range(layers)])
        self.proj_out = nn.Conv2d(inner, channels, 1)

    def forward(self, x, context):
        b, _, h, w = x.shape
        t = self.proj_in(self.norm(x))
        inner = t.shape[1]
        t = t.permute(0, 2, 3, 1).reshape(b, h * w, inner)
        for block in self.transformer_blocks:
            t = block(t, context)
        t = t.view(b, h, w, inner).permute(0, 3, 1, 2).contiguous()
        return self.proj_out(t) + x


class Downsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, size=None):
        x = F.interpolate(x, size=size, mode="nearest") if size is not None else F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class DownBlock(nn.Module):
    """CrossAttnDownBlock2D (with attentions) or DownBlock2D (without)."""

    def __init__(self, cin, cout, temb, layers, downsample, cross, heads, cross_dim, tlayers, groups, eps):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups, eps) for i in range(layers)])
        if cross:
            self.attentions = nn.ModuleList(
                [Transformer2DModel(heads, cout // heads, cout, tlayers, cross_dim, groups, eps) for _ in range(layers)])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if downsample else None

    def forward(self, x, temb, context):
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    """CrossAttnUpBlock2D (with attentions) or UpBlock2D (without)."""

    def __init__(self, skip_in, prev, cout, temb, layers, upsample, cross, heads, cross_dim, tlayers, groups, eps):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock2D((prev if i == 0 else cout) + (skip_in if i == layers - 1 else cout), cout, temb, groups, eps)
            for i in range(layers)])
        if cross:
            self.attentions = nn.ModuleList(
                [Transformer2DModel(heads, cout // heads, cout, tlayers, cross_dim, groups, eps) for _ in range(layers)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if upsample else None

    def forward(self, x, skips, temb, context, size):
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips[len(skips) - 1 - i]], dim=1), temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, size)
        return x


class MidBlock(nn.Module):
    def __init__(self, channels, temb, heads, cross_dim, tlayers, groups, eps):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, temb, groups, eps) for _ in range(2)])
        self.attentions = nn.ModuleList([Transformer2DModel(heads, channels // heads, channels, tlayers, cross_dim, groups, eps)])

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, context)
        return self.resnets[1](x, temb)


class UNet2DConditionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch = c["block_out_channels"]
        levels = len(ch)
        temb = ch[0] * 4
        g, eps = c["norm_num_groups"], c["norm_eps"]
        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1)
        self.time_proj = Timesteps(ch[0])
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList([
            DownBlock(ch[0] if i == 0 else ch[i - 1], ch[i], temb, c["layers_per_block"], i != levels - 1,
                      c["down_block_types"][i] == "CrossAttnDownBlock2D", c["attention_heads"][i],
                      c["cross_attention_dim"], c["transformer_layers_per_block"], g, eps)
            for i in range(levels)])
        self.mid_block = MidBlock(ch[-1], temb, c["attention_heads"][-1], c["cross_attention_dim"],
                                  c["transformer_layers_per_block"], g, eps)
        ups = []
        for i in range(levels):
            level = levels - 1 - i
            ups.append(UpBlock(ch[max(level - 1, 0)], ch[min(level + 1, levels - 1)], ch[level], temb,
                               c["layers_per_block"] + 1, i != levels - 1, c["up_block_types"][i] == "CrossAttnUpBlock2D",
                               c["attention_heads"][level], c["cross_attention_dim"], c["transformer_layers_per_block"], g, eps))
        self.up_blocks = nn.ModuleList(ups)
        self.conv_norm_out = group_norm(g, ch[0], eps)
        self.conv_out = nn.Conv2d(ch[0], c["out_channels"], 3, padding=1)

    def forward(self, sample, timesteps, context):
        emb = self.time_embedding(self.time_proj(timesteps).to(sample.dtype))
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            h, s = block(h, emb, context)
            skips.extend(s)
        h = self.mid_block(h, emb, context)
        for block in self.up_blocks:
            n = len(block.resnets)
            own, skips = skips[-n:], skips[:-n]
            size = skips[-1].shape[2:] if skips else None
            h = block(h, own, emb, context, size)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


# ---------------------------------------------------------------------------------------------- text encoder
class TextEmbeddings(nn.Module):
    def __init__(self, vocab, max_len, width):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.position_embedding = nn.Embedding(max_len, width)

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding(torch.arange(ids.shape[1]))


class TextSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def _split(self, x):
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x):
        out = attention(self._split(self.q_proj(x)), self._split(self.k_proj(x)), self._split(self.v_proj(x)), causal=True)
        return self.out_proj(out.transpose(1, 2).reshape(x.shape))


class TextMlp(nn.Module):
    def __init__(self, width, intermediate):
        super().__init__()
        self.fc1 = nn.Linear(width, intermediate)
        self.fc2 = nn.Linear(intermediate, width)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class TextEncoderLayer(nn.Module):
    def __init__(self, width, heads, intermediate, eps):
        super().__init__()
        self.self_attn = TextSelfAttention(width, heads)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = TextMlp(width, intermediate)
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class TextTransformer(nn.Module):
    def __init__(self, width, heads, intermediate, layers, eps):
        super().__init__()
        self.layers = nn.ModuleList([TextEncoderLayer(width, heads, intermediate, eps) for _ in range(layers)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TextEncoder(nn.Module):
    def __init__(self, vocab, max_len, width, layers, eps=1e-5):
        super().__init__()
        shape = TEXT_SHAPES.get(width, dict(heads=width // 64 if width % 64 == 0 else 1, intermediate=4 * width))
        self.embeddings = TextEmbeddings(vocab, max_len, width)
        self.encoder = TextTransformer(width, shape["heads"], shape["intermediate"], layers, eps)
        self.final_layer_norm = nn.LayerNorm(width, eps=eps)

    def forward(self, ids):
        return self.final_layer_norm(self.encoder(self.embeddings(ids)))


# ------------------------------------------------------------------------------------------------- the step
class Bench:
    def __init__(self, preset, res, batch, tokens, vocab, text_layers, threads, seed=42):
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        config = UNET_PRESETS[preset]
        self.unet = UNet2DConditionModel(config).train()
        self.text = TextEncoder(vocab, tokens, config["cross_attention_dim"], text_layers).train()
        for m in list(self.unet.modules()) + list(self.text.modules()):
            if isinstance(m, nn.Conv2d):
                m.register_forward_hook(_count_conv)
            elif isinstance(m, nn.Linear):
                m.register_forward_hook(_count_linear)
        params = list(self.unet.parameters()) + list(self.text.parameters())
        self.parameters = sum(p.numel() for p in params)
        self.tensors = len(self.unet.state_dict()) + len(self.text.state_dict())
        self.optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
        x0 = torch.randn(batch, config["in_channels"], res, res)
        self.noise = torch.randn_like(x0)
        self.noisy = x0 * 0.7 + self.noise * 0.7
        self.timesteps = torch.randint(0, 1000, (batch,))
        self.ids = torch.randint(0, vocab, (batch, tokens))
        self.threads = torch.get_num_threads()
        with torch.no_grad():
            FLOPS.total, FLOPS.enabled = 0, True
            self.unet(self.noisy, self.timesteps, self.text(self.ids))
            FLOPS.enabled = False
        self.forward_flops = FLOPS.total

    def step(self):
        context = self.text(self.ids)
        prediction = self.unet(self.noisy, self.timesteps, context)
        loss = F.mse_loss(prediction, self.noise)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss

    def run(self, warmup, steps):
        for _ in range(warmup):
            self.step()
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return (time.perf_counter() - start) * 1000.0 / steps

    def describe(self):
        return {"parameters": self.parameters, "tensors": self.tensors, "forward_flops": self.forward_flops,
                "threads": self.threads, "torch": torch.__version__}


def matmul_gflops(n=1024, repeats=3):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2.0 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def serve():
    bench = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            cmd = msg.get("cmd")
            if cmd == "setup":
                bench = Bench(msg["preset"], msg["res"], msg["batch"], msg["tokens"], msg["vocab"],
                              msg.get("text_layers", 2), msg.get("threads", 2), msg.get("seed", 42))
                answer = bench.describe()
            elif cmd == "run":
                answer = {"ms_per_step": bench.run(msg.get("warmup", 1), msg.get("steps", 5))}
            elif cmd == "matmul":
                answer = {"gflops": matmul_gflops(msg.get("n", 1024), msg.get("repeats", 3))}
            elif cmd == "quit":
                break
            else:
                answer = {"error": f"unknown command {cmd!r}"}
        except Exception as ex:  # report, keep serving
            answer = {"error": f"{type(ex).__name__}: {ex}"}
        print(json.dumps(answer), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--serve", action="store_true")
    p.add_argument("--preset", default="tiny", choices=sorted(UNET_PRESETS))
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--tokens", type=int, default=16)
    p.add_argument("--vocab", type=int, default=40)
    p.add_argument("--text-layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    if a.serve:
        serve()
        return
    bench = Bench(a.preset, a.res, a.batch, a.tokens, a.vocab, a.text_layers, a.threads)
    result = bench.describe()
    result.update(preset=a.preset, res=a.res, batch=a.batch, ms_per_step=bench.run(a.warmup, a.steps))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
