"""Peak-memory estimate for LoRA training of a Llama model, to pick a micro-batch that fits a card.

The model counts what this trainer keeps alive: frozen weights in bf16, LoRA weights, gradients and
AdamW state in fp32, the activations autograd saves per token and layer, and a fixed CUDA overhead.
Logits are only computed for the answer tokens (`answer_loss`), so the vocabulary adds nothing per
token. bench/gpu_7b_memory.py measures the same settings on a real GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1024**3


@dataclass(frozen=True)
class LlamaShape:
    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    tied: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def params(self) -> int:
        kv = self.kv_heads * self.head_dim
        per_layer = 2 * self.hidden * self.hidden + 2 * self.hidden * kv + 3 * self.hidden * self.intermediate + 2 * self.hidden
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.layers * per_layer + self.hidden

    def lora_params(self, r: int, targets: tuple[str, ...]) -> int:
        kv = self.kv_heads * self.head_dim
        dims = {"q_proj": (self.hidden, self.hidden), "k_proj": (self.hidden, kv), "v_proj": (self.hidden, kv),
                "o_proj": (self.hidden, self.hidden), "gate_proj": (self.hidden, self.intermediate),
                "up_proj": (self.hidden, self.intermediate), "down_proj": (self.intermediate, self.hidden)}
        return self.layers * sum(r * (dims[t][0] + dims[t][1]) for t in targets)

    def saved_per_token_layer(self, r: int, targets: tuple[str, ...]) -> int:
        """Elements autograd keeps per token and layer (SDPA attention: no seq x seq term)."""
        h, i, kv = self.hidden, self.intermediate, self.kv_heads * self.head_dim
        norms = 4 * h  # two RMSNorm inputs and outputs
        attn = h + 2 * kv + 2 * (h + kv) // 2 + h + h  # q, k, v; rotary q/k; attention output; o_proj input
        mlp = 4 * i  # gate, up, silu(gate), silu(gate) * up
        lora = len(targets) * (r + h // 2)  # LoRA down-projection output and dropout mask (1 byte)
        return norms + attn + mlp + lora


SHAPES = {
    "llama-7b": LlamaShape(vocab=32000, hidden=4096, intermediate=11008, layers=32, heads=32, kv_heads=32),
    "llama-13b": LlamaShape(vocab=32000, hidden=5120, intermediate=13824, layers=40, heads=40, kv_heads=40),
    "smollm2-135m": LlamaShape(vocab=49152, hidden=576, intermediate=1536, layers=30, heads=9, kv_heads=3, tied=True),
}


@dataclass(frozen=True)
class MemoryPlan:
    weights: float
    lora_state: float
    activations_per_sample: float
    overhead: float

    def peak(self, micro_batch: int) -> float:
        return self.weights + self.lora_state + self.overhead + micro_batch * self.activations_per_sample

    def largest_micro_batch(self, budget: float) -> int:
        room = budget - (self.weights + self.lora_state + self.overhead)
        return max(0, int(room // self.activations_per_sample))


def plan(shape: LlamaShape, seq: int, grad_ckpt: bool, r: int = 8, *, targets: tuple[str, ...] = ("q_proj", "v_proj"),
         weight_bytes: int = 2, act_bytes: int = 2, overhead_gib: float = 1.0) -> MemoryPlan:
    """Bytes for each part; activations for one sample of `seq` tokens."""
    lora = shape.lora_params(r, targets)
    per_layer = shape.saved_per_token_layer(r, targets) * act_bytes * seq
    if grad_ckpt:  # only each layer's input survives; one layer is recomputed at a time
        acts = shape.layers * shape.hidden * act_bytes * seq + per_layer
    else:
        acts = shape.layers * per_layer
    return MemoryPlan(
        weights=shape.params() * weight_bytes,
        lora_state=lora * 16,  # fp32 weight, gradient, AdamW m and v
        activations_per_sample=acts + seq * shape.hidden * 4,  # + fp32 final hidden states for the loss
        overhead=overhead_gib * GiB,
    )
