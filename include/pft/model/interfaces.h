#pragma once
// The narrow interfaces through which tasks, generation and PEFT hooks see a model, whatever
// its family. A family's task classes implement the ones that fit (BERT's sequence
// classifier is a SequenceClassifier, T5 an EncoderDecoderLM); a task asks a loaded model for
// the interface it needs (LoadedModel::as<I>()) and never names a concrete class.
//
// Every interface starts from the embedding hook (ARCHITECTURE.md): `embed(input_ids)` gives
// the input embeddings, which prompt tuning extends with virtual tokens and the prompt
// template's {soft} slots overwrite, and the forward calls take those embeddings with the
// attention mask, token types and per-layer key/value prefixes (prefix tuning).

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "pft/model/hooks.h"
#include "pft/model/seq2seq.h"

namespace pft::model {

/// The input of an encoder pass, after the PEFT hooks.
struct EncoderInputs {
  torch::Tensor embeds;  // [batch, seq, hidden]
  torch::Tensor mask;    // [batch, seq], 1 real and 0 padding; undefined: all real
  torch::Tensor types;   // [batch, seq] token types; undefined: all zero (or none)
  const LayerPrefixes* prefixes = nullptr;  // one entry per layer, or null
};

/// The embedding hook every model exposes.
class Embedder {
 public:
  virtual ~Embedder() = default;
  /// Input embeddings of `input_ids` [batch, seq] -> [batch, seq, hidden].
  virtual torch::Tensor embed(const torch::Tensor& input_ids) = 0;
};

/// An encoder with a classification head over the whole sequence.
class SequenceClassifier : public virtual Embedder {
 public:
  /// Class logits [batch, labels].
  virtual torch::Tensor classify(const EncoderInputs& inputs) = 0;
};

/// An encoder with a classification head on every position.
class TokenClassifier : public virtual Embedder {
 public:
  /// Class logits [batch, seq, labels] (virtual tokens included).
  virtual torch::Tensor classify_tokens(const EncoderInputs& inputs) = 0;
};

/// An encoder with its pretrained masked-language-model head.
class MaskedLM : public virtual Embedder {
 public:
  /// The encoder's last hidden state [batch, seq, hidden].
  virtual torch::Tensor encode(const EncoderInputs& inputs) = 0;
  /// Vocabulary logits of chosen hidden states [..., hidden] -> [..., vocab].
  virtual torch::Tensor predict(const torch::Tensor& hidden_states) = 0;
};

/// An encoder-decoder language model. Seq2SeqLM's start()/step() decode without PEFT hooks;
/// the hooked path (task/hooked_model.h) uses encode() and start_decoding().
class EncoderDecoderLM : public virtual Embedder, public Seq2SeqLM {
 public:
  /// The encoder's last hidden state [batch, src_len, hidden].
  virtual torch::Tensor encode(const EncoderInputs& inputs) = 0;
  /// Teacher-forced logits [batch, dec_len, vocab] of `decoder_embeds` (causal) over the
  /// encoded `inputs`; `decoder_mask` may be undefined.
  virtual torch::Tensor logits(const EncoderInputs& inputs, const torch::Tensor& decoder_embeds,
                               const torch::Tensor& decoder_mask,
                               const LayerPrefixes* decoder_prefixes = nullptr,
                               const LayerPrefixes* cross_prefixes = nullptr) = 0;
  /// The decoding state for `encoder_hidden` [sources, src_len, hidden] (its mask may be
  /// undefined), `copies` consecutive rows per source, with the decoder's self-attention and
  /// cross-attention prefixes when given.
  virtual std::unique_ptr<DecoderState> start_decoding(const torch::Tensor& encoder_hidden,
                                                       const torch::Tensor& encoder_mask,
                                                       const LayerPrefixes* self_prefixes,
                                                       std::int64_t copies,
                                                       const LayerPrefixes* cross_prefixes) = 0;
  /// Decoder inputs for `labels` (-100 ignored): the start token, then labels shifted right.
  virtual torch::Tensor shift_right(const torch::Tensor& labels) const = 0;
};

}  // namespace pft::model
