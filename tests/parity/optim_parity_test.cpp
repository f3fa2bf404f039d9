// Learning-rate schedules against transformers' and AdamW with parameter groups against
// torch.optim.AdamW, both computed live.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pft/train/optimizer.h"
#include "pft/train/schedule.h"
#include "pft/util/fs.h"
#include "pft/util/strings.h"
#include "support/test_util.h"

using nlohmann::json;

namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const auto c = t.detach().contiguous().to(torch::kFloat32).flatten();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

struct TwoParams : torch::nn::Module {
  TwoParams(const torch::Tensor& w0, const torch::Tensor& b0) {
    weight = register_parameter("weight", w0.clone());
    bias = register_parameter("bias", b0.clone());
  }
  torch::Tensor weight, bias;
};

}  // namespace

TEST(OptimParity, SchedulesAndAdamWEqualPyTorch) {
  torch::manual_seed(3);
  const auto w0 = torch::randn({4, 3}), b0 = torch::randn({3});
  std::vector<torch::Tensor> gw, gb;
  json in = {{"w", to_vector(w0)}, {"b", to_vector(b0)}, {"g_w", json::array()}, {"g_b", json::array()}};
  for (int s = 0; s < 5; ++s) {
    gw.push_back(torch::randn({4, 3}));
    gb.push_back(torch::randn({3}));
    in["g_w"].push_back(to_vector(gw.back()));
    in["g_b"].push_back(to_vector(gb.back()));
  }
  pft::test::TempDir dir;
  pft::write_file_atomic(dir.file("in.json"), in.dump());
  const auto r = pft::test::run_python("optim_reference.py", {dir.file("in.json"), dir.file("out.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ref = json::parse(pft::read_file(dir.file("out.json")));

  for (const auto& [key, values] : ref["schedules"].items()) {
    const auto parts = pft::split(key, '/');
    pft::train::ScheduleOptions o;
    o.kind = parts[0];
    o.warmup_steps = std::stoll(parts[1]);
    o.total_steps = std::stoll(parts[2]);
    for (std::size_t step = 0; step < values.size(); ++step) {
      EXPECT_NEAR(pft::train::lr_multiplier(o, static_cast<std::int64_t>(step)), values[step].get<double>(), 1e-12)
          << key << " step " << step;
    }
  }

  TwoParams model(w0, b0);
  pft::train::OptimizerOptions oo;
  oo.lr = 1e-2;
  oo.weight_decay = 0.1;
  auto optimizer = pft::train::make_adamw(model, oo);
  ASSERT_EQ(optimizer->param_groups().size(), 2u);
  EXPECT_EQ(optimizer->param_groups()[0].params().size(), 1u);  // weight: decayed
  EXPECT_EQ(optimizer->param_groups()[1].params().size(), 1u);  // bias: exempt
  for (int s = 0; s < 5; ++s) {
    model.weight.mutable_grad() = gw[s].clone();
    model.bias.mutable_grad() = gb[s].clone();
    optimizer->step();
  }
  const auto w = to_vector(model.weight), b = to_vector(model.bias);
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], ref["w"][i].get<double>(), 1e-6) << i;
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(b[i], ref["b"][i].get<double>(), 1e-6) << i;
}
