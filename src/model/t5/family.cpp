#include "pft/model/t5/family.h"

#include "pft/util/log.h"

namespace pft::model {

namespace {

// Hugging Face PEFT's defaults for T5 (peft/utils/constants.py), and pft's placement of
// bottleneck adapters (regular expressions over module paths).
PeftTargets t5_peft_targets() {
  return {
      {"LORA", {"q", "v"}},
      {"IA3", {"k", "v", "wo"}},
      {"IA3.feedforward", {"wo"}},
      {"BOTTLENECK_ADAPTER.attention",
       {R"(.*block\.\d+\.layer\.\d+\.(SelfAttention|EncDecAttention)\.o)"}},
      {"BOTTLENECK_ADAPTER.feed_forward", {R"(.*block\.\d+\.layer\.\d+\.DenseReluDense\.wo)"}},
  };
}

}  // namespace

ModelInfo t5_model_info(const T5Config& config, const std::string& path, Head head) {
  ModelInfo info;
  info.model_type = "t5";
  info.task_type = peft_task_type(head);
  info.base_model_name_or_path = path;
  info.hidden_size = config.d_model;
  info.num_layers = config.num_layers;
  info.num_decoder_layers = config.num_decoder_layers;
  info.num_heads = config.num_heads;
  info.num_kv_heads = config.num_heads;
  info.head_dim = config.d_kv;
  info.vocab_size = config.vocab_size;
  info.pad_token_id = config.pad_token_id;
  info.word_embeddings = "shared.weight";
  info.peft_targets = t5_peft_targets();
  return info;
}

namespace {

// T5, mT5 and UMT5 (one architecture: mT5 is T5 v1.1 with other config defaults, UMT5 mT5
// with a relative position bias in every block, both applied by T5Config::from_json). PEFT's
// IA3 defaults differ: mT5 scales k, v and wi_1, and none of them as feed-forward; PEFT has
// no defaults for UMT5, which gets mT5's.
FamilyDescriptor family(const std::string& type) {
  FamilyDescriptor f;
  const bool mt5 = type != "t5";
  f.model_type = type;
  f.description = type == "umt5" ? "UMT5 (encoder-decoder)"
                  : mt5          ? "mT5 (encoder-decoder)"
                                 : "T5 (encoder-decoder)";
  f.peft_targets = t5_peft_targets();
  if (mt5) {
    f.peft_targets["IA3"] = {"k", "v", "wi_1"};
    f.peft_targets["IA3.feedforward"] = {};
  }
  f.heads[Head::Seq2SeqLM] = [type = f.model_type, targets = f.peft_targets](const LoadRequest& r) {
    auto model = load_t5(r.path, r.device);
    model->encoder->gradient_checkpointing = r.gradient_checkpointing;
    model->decoder->gradient_checkpointing = r.gradient_checkpointing;
    log::info("model: {} ({}, {} + {} layers, d_model {})", r.path, type,
              model->config().num_layers, model->config().num_decoder_layers,
              model->config().d_model);
    LoadedModel out;
    out.module = model.ptr();
    out.head = Head::Seq2SeqLM;
    out.info = t5_model_info(model->config(), r.path);
    out.info.model_type = type;
    out.info.peft_targets = targets;
    return out;
  };
  f.example_config = {{"model_type", f.model_type},
                      {"vocab_size", 99},
                      {"d_model", 32},
                      {"d_kv", 8},
                      {"num_heads", 4},
                      {"d_ff", 37},
                      {"num_layers", 2},
                      {"num_decoder_layers", 2},
                      {"relative_attention_num_buckets", 8},
                      {"relative_attention_max_distance", 16},
                      {"decoder_start_token_id", 0},
                      {"eos_token_id", 1},
                      {"pad_token_id", 0}};
  if (mt5) f.example_config["feed_forward_proj"] = "gated-gelu";
  return f;
}

}  // namespace

FamilyDescriptor t5_family() { return family("t5"); }
FamilyDescriptor mt5_family() { return family("mt5"); }
FamilyDescriptor umt5_family() { return family("umt5"); }

}  // namespace pft::model
