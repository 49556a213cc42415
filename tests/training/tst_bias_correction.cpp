// The omitted-class bias correction (core/src/training/bias_correction.cpp):
// the chosen shift against a brute-force search, the accuracies it reports,
// and, end to end, that a run changes only the omitted classes' biases, keeps
// them in its checkpoint, and exports the corrected model.
#include "distillery/engine.h"
#include "distillery/export.h"
#include "distillery/runs.h"
#include "models/model_io.h"
#include "models/torch_model.h"
#include "testutil.h"
#include "training/bias_correction.h"

#include <QtTest/QtTest>

#include <torch/script.h>

using namespace distillery;
using namespace distillery::detail;

namespace {

double accuracyAt(const torch::Tensor &z, const torch::Tensor &y, const std::vector<int> &classes, double s)
{
    return shiftedAccuracy(z, y, classes, s).second;
}

// Synthetic vectors, the students never shown class 1.
Experiment omittedExperiment(double shift)
{
    Experiment e = testutil::syntheticExperiment();
    e.data.omitClasses = {1};
    e.data.omittedBiasShift = shift;
    e.baseline = false;
    return e;
}

} // namespace

class TestBiasCorrection : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void chosenShiftIsTheBestOnTheGrid()
    {
        torch::manual_seed(4);
        for (int trial = 0; trial < 5; ++trial) {
            const auto y = torch::randint(0, 5, {400}, torch::kInt64);
            auto z = torch::randn({400, 5}) + torch::one_hot(y, 5).to(torch::kFloat) * 2.0;
            z.select(1, 3).sub_(3.0); // class 3 under-predicted, as after an omitted transfer set
            const double shift = chooseBiasShift(z, y, {3});
            double best = 0.0;
            for (double s = 0.0; s < 12.0; s += 0.01)
                best = std::max(best, accuracyAt(z, y, {3}, s));
            QVERIFY2(accuracyAt(z, y, {3}, shift) >= best - 1e-12,
                     qPrintable(QString("shift %1 gives %2, the grid's best is %3").arg(shift)
                                    .arg(accuracyAt(z, y, {3}, shift)).arg(best)));
            QVERIFY(shift > 0.5); // the under-prediction is found
        }
    }

    void noShiftWhenNoneHelps()
    {
        const auto y = torch::tensor({0, 1, 2}, torch::kInt64);
        const auto z = torch::eye(3) * 5.0; // every prediction already right
        QCOMPARE(chooseBiasShift(z, y, {2}), 0.0);
    }

    void accuraciesOnTheOmittedClassesAndOnAll()
    {
        const auto y = torch::tensor({0, 1, 1, 2}, torch::kInt64);
        const auto z = torch::tensor({{2.0f, 0.0f, 0.0f}, {2.0f, 1.0f, 0.0f}, {0.0f, 1.5f, 0.0f}, {0.0f, 0.0f, 3.0f}});
        auto [omitted, all] = shiftedAccuracy(z, y, {1}, 0.0);
        QCOMPARE(omitted, 0.5);
        QCOMPARE(all, 0.75);
        std::tie(omitted, all) = shiftedAccuracy(z, y, {1}, 1.5); // row 1: 2.5 > 2; row 0: 1.5 < 2
        QCOMPARE(omitted, 1.0);
        QCOMPARE(all, 1.0);
    }

    void aRunRaisesOnlyTheOmittedBiasesAndExportsThem()
    {
        QTemporaryDir ws;
        testutil::Recorder r0, r1;
        const RunResult plain = Engine(omittedExperiment(0.0), EngineOptions{ws.path().toStdString()}).run(r0);
        const RunResult raised = Engine(omittedExperiment(2.5), EngineOptions{ws.path().toStdString()}).run(r1);
        QVERIFY2(plain.status == RunStatus::Finished, plain.message.c_str());
        QVERIFY2(raised.status == RunStatus::Finished, raised.message.c_str());
        const BiasCorrection &b = raised.stage(StageKind::Distillation)->biasCorrection;
        QCOMPARE(b.classes, std::vector<int>{1});
        QCOMPARE(b.shift, 2.5);
        QVERIFY(!b.chosen);
        QCOMPARE(raised.stage(StageKind::Distillation)->testAccuracy, b.testAccuracyAfter);
        // Kept in the run folder, as the Runs panel and the runner read it.
        const RunMetrics m = readRunMetrics(raised.runDir);
        QCOMPARE(m.stageResults.back().biasCorrection.shift, 2.5);
        QCOMPARE(m.stageResults.back().biasCorrection.omittedAccuracyAfter, b.omittedAccuracyAfter);

        // The same seed trains the same weights; only class 1's bias differs, by the shift.
        const Architecture layers = resolveModel(omittedExperiment(0).student, 4);
        Net a(layers, Shape{16}), c(layers, Shape{16});
        loadCheckpoint(a, plain.stage(StageKind::Distillation)->checkpoint, torch::kCPU);
        loadCheckpoint(c, raised.stage(StageKind::Distillation)->checkpoint, torch::kCPU);
        const auto pa = a->parameters(), pc = c->parameters();
        for (std::size_t i = 0; i + 1 < pa.size(); ++i)
            QVERIFY(torch::equal(pa[i], pc[i]));
        const auto diff = (c->outputBias() - a->outputBias());
        QVERIFY(torch::allclose(diff, torch::tensor({0.0f, 2.5f, 0.0f, 0.0f}), 0, 1e-6));

        // The exported TorchScript model gives the corrected predictions.
        std::vector<torch::Tensor> outputs;
        for (const RunResult *run : {&plain, &raised}) {
            ExportRequest request;
            request.runDir = run->runDir;
            request.outDir = run->runDir + "/export";
            request.formats = {"torchscript"};
            const ExportReport report = exportRun(request);
            QVERIFY2(report.ok() && report.files.size() == 1, report.files.empty() ? "nothing written"
                                                                                     : report.files[0].message.c_str());
            auto module = torch::jit::load(report.files[0].path);
            torch::manual_seed(9);
            outputs.push_back(module.forward({torch::rand({8, 16})}).toTensor());
        }
        QVERIFY(torch::allclose(outputs[1] - outputs[0], diff.expand({8, 4}), 0, 1e-4));
    }
};

QTEST_GUILESS_MAIN(TestBiasCorrection)
#include "tst_bias_correction.moc"
