// FitNets' first stage (distillation.params.hint_epochs): during those epochs
// the loss is β times the hint alone, so the student's layers up to its tap
// and the regressor learn while the layers after it keep their weights; from
// the next epoch every term trains everything.
#include "distillery/architecture.h"
#include "distillery/methods.h"
#include "methods/method.h"
#include "models/torch_model.h"
#include "testutil.h"
#include "training/trainer.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;
using testutil::layer;

namespace {

LayerSpec tapped(LayerSpec l, const std::string &tap)
{
    l.tap = tap;
    return l;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor> &params)
{
    std::vector<torch::Tensor> out;
    for (const auto &p : params)
        out.push_back(p.detach().clone());
    return out;
}

} // namespace

class TestFitnetHint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hintEpochsTrainOnlyUpToTheTap()
    {
        torch::manual_seed(5);
        const Shape input{8};
        const Architecture teacherLayers{tapped(layer("linear", 16), "h"), layer("relu"), layer("linear", 4)};
        const Architecture studentLayers{tapped(layer("linear", 6), "h"), layer("relu"), layer("linear", 4)};
        Net teacher(teacherLayers, input), student(studentLayers, input);
        DistillConfig k;
        k.method = "fitnet";
        k.params["hint_epochs"] = 1;
        k.pairs = {{"h", "h"}};
        auto method = makeMethod(k);
        method->setPairs(resolvePairs(k, modelTaps(teacherLayers, input), modelTaps(studentLayers, input)));
        torch::nn::Module *regressor = method->prepare(torch::kCPU);
        QVERIFY(regressor);
        auto parameters = student->parameters();
        for (auto &p : regressor->parameters())
            parameters.push_back(p);
        TrainConfig t;
        t.optimizer = "sgd";
        t.lr = 0.05;
        auto optimizer = makeOptimizer(parameters, t);
        Split data{torch::randn({64, 8}), torch::randint(0, 4, {64}, torch::kInt64)};
        StepContext c{student, *optimizer, *method, {}, {}, data, Precision::Float32, &t};
        c.teacherFeatures = [&](const torch::Tensor &x, const std::vector<Tap> &taps) {
            return teacher->forwardWithTaps(x, taps);
        };
        const auto studentParams = student->parameters(); // first layer's weight and bias, then the last's
        QCOMPARE(studentParams.size(), std::size_t(4));
        const auto before = copies(studentParams);
        const auto regressorBefore = copies(regressor->parameters());

        method->setEpoch(1);
        auto acc = torch::zeros({4}, torch::kFloat64); // total, hint, hard, correct
        for (int i = 0; i < 3; ++i)
            trainStep(c, torch::arange(64), acc);
        QVERIFY(!torch::equal(studentParams[0], before[0]) && !torch::equal(studentParams[1], before[1]));
        QVERIFY(torch::equal(studentParams[2], before[2]) && torch::equal(studentParams[3], before[3]));
        QVERIFY(!torch::equal(regressor->parameters()[0], regressorBefore[0]));
        // The total is β·hint (β = 100 by default); the hard term is reported, not trained on.
        const double beta = methodParam(k, "beta");
        QVERIFY2(std::abs(acc[0].item<double>() - beta * acc[1].item<double>()) < 1e-6 * acc[0].item<double>(),
                 qPrintable(QStringLiteral("total %1, hint %2").arg(acc[0].item<double>()).arg(acc[1].item<double>())));
        QVERIFY(acc[2].item<double>() > 0);

        method->setEpoch(2); // the second stage: cross-entropy and hint train the whole student
        const auto afterHint = copies(studentParams);
        acc.zero_();
        trainStep(c, torch::arange(64), acc);
        QVERIFY(!torch::equal(studentParams[2], afterHint[2]) && !torch::equal(studentParams[3], afterHint[3]));
        QVERIFY(acc[0].item<double>() > beta * acc[1].item<double>()); // the cross-entropy is in it
    }
};

QTEST_APPLESS_MAIN(TestFitnetHint)
#include "tst_fitnet_hint.moc"
