#include "bwplan/memory_model.hpp"

#include <algorithm>

namespace bwplan {

StateDtypes state_dtypes(Precision p) {
  // FSDP2 keeps the sharded parameter in the dtype the model was built in and the optimizer
  // steps on it; gradients take that dtype too (MixedPrecisionPolicy's docstring, pytorch/pytorch
  // torch/distributed/fsdp/_fully_shard/_fsdp_api.py). Mixed precision and
  // the low-precision recipes (torchao, on top of bf16 mixed) build the model in fp32; bf16-pure
  // builds it in bf16 (torchtune).
  if (p == Precision::bf16_pure) {
    return {2, 2, 2, 2};
  }
  if (p == Precision::fp32) {
    return {4, 4, 4, 4};
  }
  return {4, 4, 2, 4}; // bf16 mixed: MixedPrecisionPolicy(param bf16, reduce fp32)
}

StateDtypes state_dtypes(const TrainingConfig& c) {
  StateDtypes dt = state_dtypes(c.precision);
  switch (c.reduce_dtype) {
  case ReduceDtype::trainer_default:
    // torchtitan always passes MixedPrecisionPolicy(reduce_dtype=training.mixed_precision_reduce),
    // which allows only "float32" (pytorch/torchtitan@v0.2.2: torchtitan/config/job_config.py),
    // and FSDP2 keeps a reduce dtype that differs from the policy's param dtype
    // (FSDPParam.init_dtype_attrs): bf16-pure (training.dtype bfloat16) reduces in fp32 too.
    if (c.trainer == Trainer::torchtitan) {
      dt.reduce_bytes = 4;
    }
    break;
  case ReduceDtype::fp32: dt.reduce_bytes = 4; break;
  case ReduceDtype::bf16: dt.reduce_bytes = 2; break;
  case ReduceDtype::count_: break;
  }
  if (fp32_adapters(c)) {
    // PEFT holds the adapters, the only trained tensors, in fp32 on any base (docs/model.md,
    // "Fine-tuning"): their parameters, gradients and optimizer states are fp32 under bf16-pure
    // too, and so are their reductions unless a reduce dtype was set (FSDP2's
    // MixedPrecisionPolicy.reduce_dtype casts the gradients whatever the parameters' dtype).
    dt.param_bytes = 4.0;
    dt.grad_bytes = 4.0;
    if (c.reduce_dtype == ReduceDtype::trainer_default) {
      dt.reduce_bytes = 4.0;
    }
  }
  return dt;
}

double optimizer_state_bytes(Optimizer o, std::int64_t rows, std::int64_t cols,
                             double param_bytes) {
  const double n = static_cast<double>(rows) * static_cast<double>(cols);
  switch (o) {
  case Optimizer::adamw: return 2 * param_bytes * n; // exp_avg, exp_avg_sq
  case Optimizer::adamw_8bit:
    // torchao AdamW8bit: 1 byte per state element + one fp32 scale per 256-element block;
    // tensors under 4096 elements keep plain states (torchao/optim/README.md).
    if (n >= 4096) {
      return 2 * (1.0 + 4.0 / 256.0) * n;
    }
    return 2 * param_bytes * n;
  case Optimizer::sgd: return param_bytes * n;  // momentum buffer
  case Optimizer::lion: return param_bytes * n; // one momentum state
  case Optimizer::adafactor:
    // torch.optim.Adafactor: row and column factors for matrices, a full second moment for
    // vectors, no first moment.
    if (cols > 1) {
      return param_bytes * static_cast<double>(rows + cols);
    }
    return param_bytes * n;
  case Optimizer::count_: break;
  }
  return 0;
}

ModelStates estimate_model_states(const ModelSpec& m, const TrainingConfig& c) {
  return estimate_model_states(rank_facts(m, c.tp, c.ep, finetune_of(c)), c);
}

ModelStates estimate_model_states(const ModelFacts& f, const TrainingConfig& c) {
  const StateDtypes dt = state_dtypes(c);
  const std::int64_t n = effective_shard_group(c);
  ModelStates s;
  for (const ParamTensor& t : f.tensors) {
    // Expert parallelism already split a routed-expert tensor's rows (whole experts) over ep
    // ranks; FSDP shards it over the rest of the shard group (torchtitan's efsdp mesh).
    const std::int64_t shard = t.expert ? std::max<std::int64_t>(1, n / c.ep) : n;
    const std::int64_t rows = (t.rows + shard - 1) / shard; // FSDP2 Shard(0) with padding
    const std::int64_t local = rows * t.cols * t.count;
    if (t.frozen) { // fine-tuning's base: held for compute only, no gradient or state
      s.frozen_bytes +=
          static_cast<double>(local) * (t.quantized ? k_nf4_bytes_per_element : dt.compute_bytes);
      continue;
    }
    s.sharded_params += local;
    s.optimizer_bytes += static_cast<double>(t.count) *
                         optimizer_state_bytes(c.optimizer, rows, t.cols, dt.param_bytes);
  }
  s.parameters_bytes = dt.param_bytes * static_cast<double>(s.sharded_params) + s.frozen_bytes;
  s.gradients_bytes = dt.grad_bytes * static_cast<double>(s.sharded_params);
  return s;
}

} // namespace bwplan
