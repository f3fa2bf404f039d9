#pragma once
// What generation needs from an encoder-decoder language model: encode a batch once, then
// feed one token per row at a time against a key/value cache. generate/ is written against
// this interface only, so any encoder-decoder (or a PEFT wrapper around one) can be decoded.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "pft/model/project.h"

namespace pft::model {

/// Ids that steer decoding, from the checkpoint's config.json.
struct SpecialTokens {
  std::int64_t decoder_start = 0;         // first decoder input
  std::vector<std::int64_t> eos{1};       // any of these ends a sequence
  std::int64_t pad = 0;                   // fills a finished sequence
};

/// Everything one batch keeps between decoding steps (the key/value cache).
class DecoderState {
 public:
  virtual ~DecoderState() = default;
  /// Keeps rows `index` ([rows], int64, may repeat): beam search reorders its beams so.
  virtual void select(const torch::Tensor& index) = 0;
  /// Decoder tokens fed so far.
  virtual std::int64_t length() const = 0;
};

class Seq2SeqLM {
 public:
  virtual ~Seq2SeqLM() = default;
  /// Encodes `input_ids` [batch, src_len] (mask: 1 real token, 0 padding; may be undefined) and
  /// returns the decoding state for `copies` consecutive copies of every row (beams).
  virtual std::unique_ptr<DecoderState> start(const torch::Tensor& input_ids,
                                              const torch::Tensor& attention_mask,
                                              std::int64_t copies) = 0;
  /// Feeds `tokens` [rows] (one per row), grows the cache and returns the logits of the next
  /// token, [rows, vocab], float32.
  virtual torch::Tensor step(DecoderState& state, const torch::Tensor& tokens) = 0;
  virtual SpecialTokens special_tokens() const = 0;
  virtual torch::Device device() const = 0;
  /// The compute type of the decoder's few-row products in the steps that follow
  /// (pft/model/project.h); a model without reduced kernels decodes in float32 and ignores it.
  virtual void set_decode_compute_type(ComputeType type) { (void)type; }
  /// The compute type set last (float32 when never set or ignored).
  virtual ComputeType decode_compute_type() const { return ComputeType::Float32; }
};

}  // namespace pft::model
