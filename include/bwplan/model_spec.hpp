/// \file
/// The shape of a dense decoder-only transformer, and its exact parameter count.
/// Formulas: docs/model.md, "Parameters".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bwplan/enums.hpp"

namespace bwplan {

/// A model as bwplan's model file format describes it (docs/bwplan.md, FILES: "Model files").
struct ModelSpec {
  std::string name;
  std::string display_name; ///< for people; defaults to `name`
  std::int64_t layers = 0;
  std::int64_t hidden = 0;
  std::int64_t heads = 0;    ///< query heads
  std::int64_t kv_heads = 0; ///< key/value heads (GQA when < heads)
  std::int64_t ffn = 0;      ///< MLP intermediate size
  std::int64_t vocab = 0;
  MlpKind mlp = MlpKind::swiglu;
  NormKind norm = NormKind::rmsnorm;
  PositionKind position = PositionKind::rope;
  bool tied_embeddings = false;
  std::int64_t max_seq_len = 0;
  /// The query/key head width; 0 = hidden / heads (Qwen3 and Mistral-Nemo set it explicitly;
  /// under latent attention it is the no-RoPE part plus qk_rope_head_dim: DeepSeek-V3 128 + 64).
  std::int64_t head_dim = 0;
  std::int64_t v_head_dim = 0; ///< the value head width; 0 = the query/key head width
  /// Multi-head latent attention (DeepSeek-V2/V3): keys and values are projected down to a
  /// kv_lora_rank latent (plus a shared qk_rope_head_dim RoPE key), normed and projected up per
  /// head; queries likewise through q_lora_rank (0: one plain projection). kv_lora_rank 0: none.
  std::int64_t kv_lora_rank = 0;
  std::int64_t q_lora_rank = 0;
  std::int64_t qk_rope_head_dim = 0;
  bool attention_sinks = false; ///< a learned sink logit per head and layer, rescaling the
                                ///< attention output by sigmoid(lse - sink) (gpt-oss)
  /// Layers whose attention sees only nearby keys (local_attention), `attention_window` tokens,
  /// `local_attention_layers` of the blocks (gpt-oss: sliding 128 on 12 of 24; Llama 4 Scout:
  /// chunked 8192 on its 36 RoPE layers of 48).
  LocalAttention local_attention = LocalAttention::none;
  std::int64_t attention_window = 0;
  std::int64_t local_attention_layers = 0;
  bool qk_norm = false;     ///< per-head RMSNorm on q and k (Qwen3)
  bool qkv_bias = false;    ///< bias on the q, k, v projections (Qwen2/Qwen2.5)
  bool linear_bias = false; ///< bias on every linear layer but the output head (GPT-NeoX)
  bool out_bias = false;    ///< bias on the attention output projection (HF attention_bias)
  bool mlp_bias = false;    ///< bias on the MLP projections (HF mlp_bias; GPT-NeoX always)
  /// Mixture of experts (docs/model.md, "Parameters"): every block's MLP is `experts` SwiGLU
  /// experts of width `expert_ffn` and a router; each token runs `experts_per_token` of them.
  /// 0 experts: a dense model (its MLP is `ffn` wide).
  std::int64_t experts = 0;
  std::int64_t experts_per_token = 0;
  std::int64_t expert_ffn = 0;
  /// A shared expert every token runs besides its routed ones (Qwen2-MoE): its SwiGLU width (0:
  /// none), and whether a sigmoid gate (a 1 x hidden linear) scales its output.
  std::int64_t shared_expert_ffn = 0;
  bool shared_expert_gate = false;
  /// The first `dense_layers` blocks of a mixture have a dense SwiGLU MLP `ffn` wide instead
  /// (DeepSeek-V3: 3 of 61, first_k_dense_replace).
  std::int64_t dense_layers = 0;
  bool router_bias = false; ///< a bias per expert on the router (gpt-oss; DeepSeek-V3's
                            ///< e_score_correction_bias)
  bool expert_bias = false; ///< gpt-oss's experts: biases on each projection and the clamped
                            ///< SwiGLU (swiglu_limit) that comes with them
  std::vector<std::string> sources;

  [[nodiscard]] bool is_moe() const { return experts > 0; }
  /// The share of each routed-expert weight a token runs: experts_per_token / experts (1 dense).
  [[nodiscard]] double routed_share() const {
    return is_moe() ? static_cast<double>(experts_per_token) / static_cast<double>(experts) : 1.0;
  }

  /// Blocks whose MLP is the mixture (all but the leading dense ones); 0 for a dense model.
  [[nodiscard]] std::int64_t moe_layers() const { return is_moe() ? layers - dense_layers : 0; }
  [[nodiscard]] bool is_mla() const { return kv_lora_rank > 0; }

  [[nodiscard]] std::int64_t effective_head_dim() const {
    return head_dim > 0 ? head_dim : hidden / heads;
  }
  [[nodiscard]] std::int64_t effective_v_head_dim() const {
    return v_head_dim > 0 ? v_head_dim : effective_head_dim();
  }
  [[nodiscard]] std::int64_t q_dim() const { return heads * effective_head_dim(); }
  /// Key width (query/key heads); under latent attention every head has its own key.
  [[nodiscard]] std::int64_t kv_dim() const { return kv_heads * effective_head_dim(); }
  [[nodiscard]] std::int64_t v_dim() const { return kv_heads * effective_v_head_dim(); }
  /// SDPA's output width (wo's input): one value head per query head.
  [[nodiscard]] std::int64_t attn_out_dim() const { return heads * effective_v_head_dim(); }
  /// Keys plus values as attention receives them: at their own heads, or under GQA with
  /// `repeated` copied to the query heads (repeat_kv).
  [[nodiscard]] std::int64_t attention_kv_dim(bool repeated) const {
    return repeated && kv_heads < heads ? q_dim() + attn_out_dim() : kv_dim() + v_dim();
  }
};

/// Which FSDP unit holds a parameter: one unit per transformer block, the rest in the root.
enum class ParamGroup : std::uint8_t { embedding, block, final_norm, output };

/// How tensor parallelism splits a parameter (torchtitan's plan for Llama,
/// torchtitan/models/llama3/infra/parallelize.py): column-wise linears (wq, wk, wv, w1, w3, the
/// output head) and the vocab-parallel embedding split their rows, row-wise ones (wo, w2) their
/// columns; norms and the remaining biases are replicated.
enum class TpSplit : std::uint8_t { replicated, rows, cols };

/// Which blocks hold a block tensor: every one, or only a mixture's leading dense blocks or its
/// sparse ones (ModelSpec::dense_layers).
enum class BlockKind : std::uint8_t { every, dense, sparse };

/// One parameter tensor of shape rows × cols (cols = 1 for vectors), present `count` times
/// (count = layers for per-block tensors).
struct ParamTensor {
  std::string name;
  std::int64_t rows = 0;
  std::int64_t cols = 1;
  std::int64_t count = 1;
  ParamGroup group = ParamGroup::block;
  TpSplit tp_split = TpSplit::replicated;
  /// A routed experts' grouped weight ([experts, ...] flattened into rows): expert parallelism
  /// splits its rows over the ep ranks, FSDP shards the rest over the data-parallel ranks left
  /// (torchtitan's efsdp), and a token runs experts_per_token / experts of it.
  bool expert = false;
  /// Fine-tuning: a frozen base tensor (no gradient or optimizer state; stored in the compute
  /// dtype, or NF4 under QLoRA when `quantized`), or a low-rank adapter (trainable).
  bool frozen = false;
  bool quantized = false;
  bool adapter = false;
  BlockKind blocks = BlockKind::every;
  [[nodiscard]] std::int64_t numel() const { return rows * cols; }
  [[nodiscard]] bool is_matrix() const { return cols > 1; }
};

/// Every parameter tensor of the model, in module order (embedding, one block, final norm,
/// output head). An output head tied to the embedding is not listed twice.
[[nodiscard]] std::vector<ParamTensor> parameter_tensors(const ModelSpec& m);

struct ParamCounts {
  std::int64_t embedding = 0; ///< token (+ learned position) embedding
  std::int64_t per_block = 0; ///< one transformer block (the largest, a mixture's sparse one)
  std::int64_t blocks = 0;    ///< all blocks
  std::int64_t final_norm = 0;
  std::int64_t output = 0; ///< output head; 0 when tied
  std::int64_t total = 0;
  /// Parameters whose matmuls run per token: all but the input embedding (torchtitan's
  /// `exclude_embedding` convention for FLOPs).
  [[nodiscard]] std::int64_t non_embedding() const { return total - embedding; }
};

[[nodiscard]] ParamCounts count_parameters(const ModelSpec& m);
/// Parameters one token's forward uses: all but the experts it is not routed to (the total for a
/// dense model).
[[nodiscard]] std::int64_t active_parameters(const ModelSpec& m);

/// What the memory and time models read from a model's shape, computed once per model so that
/// evaluating a configuration allocates nothing.
struct ModelFacts {
  std::vector<ParamTensor> tensors;
  ParamCounts counts;
  double root = 0; ///< parameters outside the blocks (embeddings, final norm, output)
  double head = 0; ///< final norm + output head (+ the embedding when tied)
  /// Per-block figures (block_linear, block_experts, trainable_block, quantized_block) are the
  /// largest block's: a mixture's sparse block rather than its leading dense ones.
  double block_linear = 0;   ///< one block's matmul weights
  double largest_tensor = 0; ///< elements of the largest parameter tensor
  /// Routed-expert elements held (every block's); their matmuls per block below.
  double experts = 0;
  double block_experts = 0;
  /// Routed-expert elements a token does not run (the model's: the FLOP count's exclusion).
  double inactive = 0;
  /// Fine-tuning: trainable elements (all but frozen tensors), one block's and every block's;
  /// the block matmul weights held as NF4 (QLoRA); adapter elements a token runs per block.
  double trainable = 0;
  double trainable_block = 0;
  double quantized_block = 0;
  double largest_quantized = 0; ///< elements of the largest NF4 tensor (dequantized per matmul)
  double adapters = 0;
};
[[nodiscard]] ModelFacts model_facts(const ModelSpec& m);
/// The facts of what one tensor-parallel rank holds: each tensor's local slice under `tp`
/// (ceil for an uneven vocabulary), counts and sums over those. `tp` 1 gives model_facts(m).
[[nodiscard]] ModelFacts tensor_parallel_facts(const ModelSpec& m, std::int64_t tp);
/// The facts of what one rank holds under tensor parallelism `tp` and expert parallelism `ep`:
/// tensor_parallel_facts(m, tp) with each routed-expert tensor's rows split over the ep ranks
/// (`ep` divides the experts: validate_config()).
[[nodiscard]] ModelFacts rank_facts(const ModelSpec& m, std::int64_t tp, std::int64_t ep);
/// Whether LoRA puts an adapter beside `t` for `targets`: the attention projections (wq, wk, wv,
/// wo) and the MLP's (w1, w2, w3) of a dense block.
[[nodiscard]] bool lora_target(const ParamTensor& t, LoraTargets targets);
/// How many of one dense block's linears get an adapter for `targets` (no allocation: the
/// activation model's count of lora_target()'s).
[[nodiscard]] std::int64_t lora_linears_per_block(const ModelSpec& m, LoraTargets targets);
/// The summed input widths of those linears (hidden for wq, wk, wv, w1, w3; attention's output
/// for wo; ffn for w2): what each adapter's own dropout copies, per token.
[[nodiscard]] std::int64_t lora_input_width_per_block(const ModelSpec& m, LoraTargets targets);
/// Which of a dense block's saved inputs the adapted linears read: the normed hidden state of
/// attention's wq, wk, wv; the one of the MLP's w1, w3; the MLP product w2 reads. (wo's input,
/// attention's output, is not among them: SDPA keeps it for its own backward.)
struct LoraInputsRead {
  bool attention_hidden = false;
  bool mlp_hidden = false;
  bool ffn = false;
};
[[nodiscard]] LoraInputsRead lora_inputs_read(const ModelSpec& m, LoraTargets targets);
/// The summed output widths of those linears (queries for wq, keys for wk, values for wv, hidden
/// for wo and w2, ffn for w1 and w3): what a dropout on each adapter's output masks, per token.
[[nodiscard]] std::int64_t lora_output_width_per_block(const ModelSpec& m, LoraTargets targets);
/// The tensors a fine-tuning run holds: parameter_tensors(m) with every tensor frozen but the
/// adapters, rank `rank` beside each target (A: rank x in, B: out x rank, per block), after the
/// base (block linears `quantized` under QLoRA). For Finetune::full, parameter_tensors(m).
[[nodiscard]] std::vector<ParamTensor> finetune_tensors(const ModelSpec& m, Finetune how,
                                                        LoraTargets targets, std::int64_t rank);
/// Parameters the optimizer steps: every one for full training, the adapters' for LoRA and QLoRA
/// (PEFT's trainable count; Llama-3.1-8B at rank 16 on all seven projections: 41,943,040).
[[nodiscard]] std::int64_t trainable_parameters(const ModelSpec& m, Finetune how,
                                                LoraTargets targets, std::int64_t rank);
/// What one rank holds of the model as `c` trains it: rank_facts(m, c.tp, c.ep) over
/// finetune_tensors().
struct FinetuneChoice {
  Finetune how = Finetune::full;
  LoraTargets targets = LoraTargets::all;
  std::int64_t rank = 16;
};
[[nodiscard]] ModelFacts rank_facts(const ModelSpec& m, std::int64_t tp, std::int64_t ep,
                                    const FinetuneChoice& finetune);
/// `f(slice)` with the facts one rank holds: `whole` itself when tp and ep are 1 (no copy), else
/// rank_facts(m, tp, ep). The models' one place for that choice.
template <class F>
decltype(auto) with_rank_slice(const ModelSpec& m, const ModelFacts& whole, std::int64_t tp,
                               std::int64_t ep, const FinetuneChoice& finetune, F&& f) {
  if (tp <= 1 && ep <= 1 && finetune.how == Finetune::full) {
    return f(whole);
  }
  const ModelFacts slice = rank_facts(m, tp, ep, finetune);
  return f(slice);
}

/// The facts of `tensors`, a subset or slice of parameter_tensors(m) (each block tensor's count
/// the blocks held).
[[nodiscard]] ModelFacts facts_of_tensors(const ModelSpec& m, std::vector<ParamTensor> tensors);

/// Throws bwplan::Error (prefixed with `where`) when a field is out of range or inconsistent:
/// the limits are listed in docs/bwplan.md (MODEL FILES).
void validate_model(const ModelSpec& m, const std::string& where);

/// The largest count or width validate_model() allows each field (docs/bwplan.md, MODEL FILES):
/// far beyond any real model, and every product of them below 2^62. A reader of another format
/// (a Hugging Face config.json) checks its keys against the same limits, so both name one range.
namespace model_limits {
inline constexpr std::int64_t layers = 4096;
inline constexpr std::int64_t hidden = 262144; // and the latent ranks kv_lora_rank, q_lora_rank
inline constexpr std::int64_t heads = 16384;   // and kv_heads
inline constexpr std::int64_t ffn = 4194304;   // and expert_ffn, shared_expert_ffn
inline constexpr std::int64_t vocab = 16777216;
inline constexpr std::int64_t seq_len = 16777216; // max_seq_len and attention_window
inline constexpr std::int64_t experts = 4096;
inline constexpr std::int64_t head_dim = 4096; // and v_head_dim
} // namespace model_limits

} // namespace bwplan
