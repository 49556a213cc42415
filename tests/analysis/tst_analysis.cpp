// The analysis of a run (core/src/analysis, distillery/analysis.h): the
// figures on logits whose answers are worked out by hand, the logits file and
// its damaged forms, analysis/summary.json, the epoch's fidelity fields, and a
// short run that writes analysis/ for each stage.
#include "distillery/analysis.h"
#include "distillery/engine.h"
#include "distillery/runs.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <fstream>

using namespace distillery;

namespace {

constexpr double kTol = 1e-6;

// Rows of logits with labels; indices from `firstIndex`.
AnalysisLogits logits(std::vector<std::vector<float>> rows, std::vector<std::int64_t> labels,
                      std::int64_t firstIndex = 0)
{
    AnalysisLogits z;
    z.rows = std::int64_t(rows.size());
    z.classes = std::int64_t(rows.front().size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        z.logits.insert(z.logits.end(), rows[i].begin(), rows[i].end());
        z.indices.push_back(firstIndex + std::int64_t(i));
    }
    z.labels = std::move(labels);
    return z;
}

// Logits that predict each of `predicted` (5 for it, 0 elsewhere) over 3 classes.
AnalysisLogits predicting(const std::vector<int> &predicted, const std::vector<std::int64_t> &labels)
{
    std::vector<std::vector<float>> rows;
    for (int p : predicted) {
        std::vector<float> r(3, 0.0f);
        r[std::size_t(p)] = 5.0f;
        rows.push_back(r);
    }
    return logits(rows, labels, 10);
}

// A .logits file with its header fields replaced.
QByteArray header(const char magic[8], std::uint32_t version, std::int64_t n, std::int64_t k)
{
    QByteArray b(magic, 8);
    b.append(reinterpret_cast<const char *>(&version), 4);
    const std::uint32_t zero = 0;
    b.append(reinterpret_cast<const char *>(&zero), 4);
    b.append(reinterpret_cast<const char *>(&n), 8);
    b.append(reinterpret_cast<const char *>(&k), 8);
    return b;
}

void expectRefused(const std::string &path, const char *why)
{
    try {
        (void)readAnalysisLogits(path);
        QFAIL(qPrintable(QString("read a damaged file: ") + why));
    } catch (const AnalysisError &e) {
        const std::string m = e.what();
        QVERIFY2(m.find(path) != std::string::npos, m.c_str());
        QVERIFY2(m.find(why) != std::string::npos, m.c_str());
    }
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Confidences 0.9 (right), 0.9 (wrong), 0.75 (right), 0.5 (a tie, the first class: right).
    void calibrationNllAndBrierByHand()
    {
        const float ln9 = std::log(9.0f), ln3 = std::log(3.0f);
        const auto z = logits({{ln9, 0}, {ln9, 0}, {0, ln3}, {0, 0}}, {0, 1, 1, 0});
        const Calibration c = calibration(z.view(), z.labels.data());
        QCOMPARE(int(c.bins.size()), 15);
        QVERIFY(std::abs(c.bins[13].lower - 13.0 / 15) < 1e-12 && std::abs(c.bins[13].upper - 14.0 / 15) < 1e-12);
        QCOMPARE(c.bins[13].count, std::int64_t(2));
        QCOMPARE(c.bins[11].count, std::int64_t(1));
        QCOMPARE(c.bins[7].count, std::int64_t(1));
        std::int64_t total = 0;
        for (const auto &b : c.bins)
            total += b.count;
        QCOMPARE(total, std::int64_t(4));
        QVERIFY(std::isnan(c.bins[0].accuracy)); // empty bins have no accuracy
        QVERIFY(std::abs(c.bins[13].accuracy - 0.5) < kTol && std::abs(c.bins[13].confidence - 0.9) < kTol);
        QVERIFY(std::abs(c.bins[11].confidence - 0.75) < kTol);
        // 2/4·|0.5 − 0.9| + 1/4·|1 − 0.75| + 1/4·|1 − 0.5|
        QVERIFY2(std::abs(c.ece - 0.3875) < kTol, qPrintable(QString::number(c.ece)));
        const double nll = -(std::log(0.9) + std::log(0.1) + std::log(0.75) + std::log(0.5)) / 4;
        QVERIFY(std::abs(meanNll(z.view(), z.labels.data()) - nll) < kTol);
        // 0.02 + 1.62 + 0.125 + 0.5 over 4
        QVERIFY(std::abs(brierScore(z.view(), z.labels.data()) - 0.56625) < kTol);
        const StageAnalysis a = analyseLogits(z);
        QVERIFY(std::abs(a.accuracy - 0.75) < 1e-12);
        QCOMPARE(a.confusion, (std::vector<std::vector<std::int64_t>>{{2, 0}, {1, 1}}));
        QVERIFY(!a.teacher && !a.baseline);
        QVERIFY(std::isnan(calibration(LogitsView{nullptr, 0, 3}, nullptr).ece)); // no rows
    }

    void klAndDarkKnowledgeByHand()
    {
        const float ln3 = std::log(3.0f);
        const auto t = logits({{ln3, 0}, {0, ln3}}, {0, 0});
        const auto m = logits({{0, 0}, {0, 0}}, {0, 0});
        // KL([.75, .25] ‖ [.5, .5]) for both rows.
        const double kl = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
        QVERIFY(std::abs(meanKl(t.view(), m.view(), 1.0) - kl) < kTol);
        // At T = 2: softmax(z/2) = [√3, 1] / (√3 + 1).
        const double p = std::sqrt(3.0) / (std::sqrt(3.0) + 1);
        QVERIFY(std::abs(meanKl(t.view(), m.view(), 2.0) - (p * std::log(2 * p) + (1 - p) * std::log(2 * (1 - p)))) <
                kTol);
        QCOMPARE(agreement(t.view(), m.view()), 0.5); // ties go to the first class
        const auto three = logits({{ln3, 0, 0}, {0, ln3, 0}, {0, 0, 0}}, {0, 0, 1});
        const auto dk = darkKnowledge(three.view(), three.labels.data(), 1.0);
        // Class 0: the mean of [.6, .2, .2] and [.2, .6, .2]; class 1: uniform; class 2: no examples.
        QVERIFY(std::abs(dk[0][0] - 0.4) < kTol && std::abs(dk[0][1] - 0.4) < kTol && std::abs(dk[0][2] - 0.2) < kTol);
        QVERIFY(std::abs(dk[1][1] - 1.0 / 3) < kTol);
        QVERIFY(std::isnan(dk[2][0]));
        for (int y = 0; y < 2; ++y)
            QVERIFY(std::abs(dk[y][0] + dk[y][1] + dk[y][2] - 1.0) < 1e-12);
        const auto hot = darkKnowledge(three.view(), three.labels.data(), 1000.0); // very soft: near uniform
        QVERIFY(std::abs(hot[0][2] - 1.0 / 3) < 1e-3);
    }

    // Teacher, baseline and student predictions over six examples of three classes.
    void quadrantsFixedBrokenAndConfusion()
    {
        const std::vector<std::int64_t> labels{0, 1, 2, 0, 1, 2};
        const auto teacher = predicting({0, 1, 2, 1, 0, 0}, labels);  // right: 1 1 1 0 0 0
        const auto baseline = predicting({1, 1, 2, 0, 1, 2}, labels); // right: 0 1 1 1 1 1
        const auto student = predicting({0, 2, 2, 0, 0, 1}, labels);  // right: 1 0 1 1 0 0
        const StageAnalysis a = analyseLogits(student, &teacher, &baseline);
        QCOMPARE(a.confusion, (std::vector<std::vector<std::int64_t>>{{2, 0, 0}, {1, 0, 1}, {0, 1, 1}}));
        QCOMPARE(a.perClassAccuracy, (std::vector<double>{1.0, 0.0, 0.5}));
        QCOMPARE(a.classCounts, (std::vector<std::int64_t>{2, 2, 2}));
        QVERIFY(a.teacher && a.baseline);
        const TeacherComparison &t = *a.teacher;
        QCOMPARE(t.bothRight.indices, (std::vector<std::int64_t>{10, 12}));
        QCOMPARE(t.teacherOnly.indices, (std::vector<std::int64_t>{11}));
        QCOMPARE(t.modelOnly.indices, (std::vector<std::int64_t>{13}));
        QCOMPARE(t.bothWrong.indices, (std::vector<std::int64_t>{14, 15}));
        QCOMPARE(t.bothWrong.count, std::int64_t(2));
        QCOMPARE(t.bothWrong.perClass, (std::vector<std::int64_t>{0, 1, 1}));
        QCOMPARE(t.agreement, 0.5);
        QCOMPARE(t.agreementPerClass, (std::vector<double>{0.5, 0.5, 0.5}));
        // Rows that disagree: KL = (a − b)·5 with a = e⁵/(e⁵ + 2), b = 1/(e⁵ + 2).
        const double e5 = std::exp(5.0), off = 5 * (e5 - 1) / (e5 + 2);
        QVERIFY(std::abs(t.kl - off / 2) < kTol);
        for (double v : t.klPerClass)
            QVERIFY(std::abs(v - off / 2) < kTol);
        const BaselineComparison &b = *a.baseline;
        QCOMPARE(b.fixed.indices, (std::vector<std::int64_t>{10}));
        QCOMPARE(b.fixed.perClass, (std::vector<std::int64_t>{1, 0, 0}));
        QCOMPARE(b.broken.indices, (std::vector<std::int64_t>{11, 14, 15}));
        QCOMPARE(b.broken.perClass, (std::vector<std::int64_t>{0, 2, 1}));
        QCOMPARE(b.broken.count, std::int64_t(3));
        // Logits of other examples are refused.
        auto other = teacher;
        other.labels[0] = 2;
        QVERIFY_THROWS_EXCEPTION(AnalysisError, analyseLogits(student, &other));
    }

    void logitsFileRoundTripAndDamage()
    {
        QTemporaryDir tmp;
        const std::string path = (tmp.path() + "/teacher.logits").toStdString();
        const auto z = logits({{1.5f, -2.0f, 0.25f}, {0, 3, 1}}, {2, 1}, 7);
        writeAnalysisLogits(path, z);
        QCOMPARE(QFileInfo(QString::fromStdString(path)).size(), qint64(32 + 2 * 16 + 2 * 3 * 4));
        const AnalysisLogits back = readAnalysisLogits(path);
        QCOMPARE(back.rows, z.rows);
        QCOMPARE(back.classes, z.classes);
        QCOMPARE(back.indices, z.indices);
        QCOMPARE(back.labels, z.labels);
        QCOMPARE(back.logits, z.logits);
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));

        const QByteArray good = testutil::readFile(QString::fromStdString(path));
        const QString damaged = tmp.path() + "/damaged.logits";
        const std::string d = damaged.toStdString();
        expectRefused((tmp.path() + "/missing.logits").toStdString(), "cannot read");
        testutil::writeFile(damaged, good.left(good.size() - 1));
        expectRefused(d, "truncated");
        testutil::writeFile(damaged, good.left(20));
        expectRefused(d, "header");
        testutil::writeFile(damaged, header("NOTLOGIT", 1, 2, 3) + good.mid(32));
        expectRefused(d, "bad magic");
        testutil::writeFile(damaged, header("DSTLOGIT", 9, 2, 3) + good.mid(32));
        expectRefused(d, "version 9");
        // N far too large: refused from the file's size, before any allocation.
        testutil::writeFile(damaged, header("DSTLOGIT", 1, std::int64_t(1) << 34, 3) + good.mid(32));
        expectRefused(d, "need");
        testutil::writeFile(damaged, header("DSTLOGIT", 1, std::int64_t(1) << 62, 3) + good.mid(32));
        expectRefused(d, "damaged header");
        testutil::writeFile(damaged, header("DSTLOGIT", 1, -1, 3) + good.mid(32));
        expectRefused(d, "damaged header");
        QByteArray badLabel = good;
        const std::int64_t label = 3;
        badLabel.replace(32 + 16, 8, QByteArray(reinterpret_cast<const char *>(&label), 8));
        testutil::writeFile(damaged, badLabel);
        expectRefused(d, "label 3");
        QByteArray badIndex = good;
        const std::int64_t minusOne = -1;
        badIndex.replace(32, 8, QByteArray(reinterpret_cast<const char *>(&minusOne), 8));
        testutil::writeFile(damaged, badIndex);
        expectRefused(d, "an example index -1");
    }

    void dataMapByHandAndDynamicsFileDamage()
    {
        TrainingDynamics d;
        const float nan = std::nanf("");
        const std::uint8_t unseen = TrainingDynamics::kUnseen;
        d.rows = 3;
        d.epochs = 3;
        d.trainRows = {4, 9, 2};
        d.labels = {0, 1, 1};
        d.probability = {0.2f, nan, nan, 0.5f, 0.9f, nan, 0.8f, 0.7f, nan}; // epoch-major
        d.correct = {0, unseen, unseen, 0, 1, unseen, 1, 1, unseen};
        const DataMap m = dataMap(d);
        QCOMPARE(m.size(), 3);
        QVERIFY(std::abs(m.confidence[0] - 0.5) < 1e-6);
        QVERIFY(std::abs(m.variability[0] - std::sqrt(0.06)) < 1e-6);
        QVERIFY(std::abs(m.correctness[0] - 1.0 / 3.0) < 1e-12);
        QVERIFY(std::abs(m.confidence[1] - 0.8) < 1e-6); // the unseen first epoch left out
        QVERIFY(std::abs(m.variability[1] - 0.1) < 1e-6);
        QCOMPARE(m.correctness[1], 1.0);
        QVERIFY(std::isnan(m.confidence[2]) && std::isnan(m.variability[2]) && std::isnan(m.correctness[2]));

        QTemporaryDir tmp;
        const std::string path = (tmp.path() + "/student.dynamics").toStdString();
        writeTrainingDynamics(path, d);
        QCOMPARE(QFileInfo(QString::fromStdString(path)).size(), qint64(32 + 3 * 16 + 9 * 5));
        const TrainingDynamics back = readTrainingDynamics(path);
        QCOMPARE(back.trainRows, d.trainRows);
        QCOMPARE(back.labels, d.labels);
        QCOMPARE(back.correct, d.correct);
        QCOMPARE(std::memcmp(back.probability.data(), d.probability.data(), 9 * sizeof(float)), 0); // NaN too

        const QByteArray good = testutil::readFile(QString::fromStdString(path));
        const QString damaged = tmp.path() + "/damaged.dynamics";
        const std::string p = damaged.toStdString();
        const auto refused = [&](const QByteArray &bytes, const char *why) {
            testutil::writeFile(damaged, bytes);
            try {
                (void)readTrainingDynamics(p);
                QFAIL(qPrintable(QString("read a damaged file: ") + why));
            } catch (const AnalysisError &e) {
                const std::string text = e.what();
                QVERIFY2(text.find(p) != std::string::npos && text.find(why) != std::string::npos, text.c_str());
            }
        };
        refused(good.left(good.size() - 1), "truncated");
        refused(good.left(12), "header");
        refused(header("DSTLOGIT", 1, 3, 3) + good.mid(32), "bad magic");
        refused(header("DSTDYNAM", 2, 3, 3) + good.mid(32), "version 2");
        refused(header("DSTDYNAM", 1, std::int64_t(1) << 40, 3) + good.mid(32), "damaged header");
        refused(header("DSTDYNAM", 1, 3, 1 << 21) + good.mid(32), "damaged header");
        QByteArray badCell = good; // epoch 1, example 0: right, with a probability above 1
        const float above = 1.5f;
        badCell.replace(32 + 48, 4, QByteArray(reinterpret_cast<const char *>(&above), 4));
        refused(badCell, "epoch 1, example 0");
        QByteArray unseenWithValue = good; // epoch 1, example 1: unseen, with a number
        const float half = 0.5f;
        unseenWithValue.replace(32 + 48 + 4, 4, QByteArray(reinterpret_cast<const char *>(&half), 4));
        refused(unseenWithValue, "epoch 1, example 1");
        QByteArray negativeClass = good; // example 2's class
        const std::int64_t minusOne = -1;
        negativeClass.replace(32 + 24 + 16, 8, QByteArray(reinterpret_cast<const char *>(&minusOne), 8));
        refused(negativeClass, "example 2: row 2, class -1");
    }

    void summaryKeepsEachStage()
    {
        QTemporaryDir tmp;
        const std::string run = tmp.path().toStdString();
        QVERIFY_THROWS_EXCEPTION(AnalysisError, readAnalysisSummary(run));
        const std::vector<std::int64_t> labels{0, 1, 2, 0, 1, 2};
        const auto teacher = predicting({0, 1, 2, 1, 0, 0}, labels);
        const auto student = predicting({0, 2, 2, 0, 0, 1}, labels);
        AnalysisSummary header;
        header.temperature = 4;
        header.classes = 3;
        header.classNames = {"a", "b", "c"};
        StageAnalysis s = analyseLogits(student, &teacher);
        s.stage = "student";
        s.latency.medianMs = 0.125;
        s.latency.passes = 200;
        s.latency.device = "cpu";
        recordStageAnalysis(run, header, s);
        StageAnalysis t = analyseLogits(teacher);
        t.stage = "teacher";
        t.parameters = 1234;
        recordStageAnalysis(run, header, t);
        recordStageAnalysis(run, header, t); // replaced, not added
        const AnalysisSummary back = readAnalysisSummary(run);
        QCOMPARE(back.temperature, 4.0);
        QCOMPARE(back.classNames, header.classNames);
        QCOMPARE(int(back.stages.size()), 2);
        QCOMPARE(QString::fromStdString(back.stages[0].stage), QString("teacher")); // pipeline order
        QCOMPARE(back.stages[0].parameters, std::int64_t(1234));
        QVERIFY(!back.stages[0].teacher);
        const StageAnalysis &sb = *back.stage("student");
        QCOMPARE(sb.confusion, s.confusion);
        QCOMPARE(sb.teacher->modelOnly.indices, s.teacher->modelOnly.indices);
        QCOMPARE(sb.teacher->kl, s.teacher->kl);
        QCOMPARE(sb.latency.medianMs, 0.125);
        QCOMPARE(int(sb.calibration.bins.size()), 15);
        QCOMPARE(sb.calibration.ece, s.calibration.ece);
        QVERIFY(std::isnan(sb.calibration.bins[0].accuracy)); // null in the file
        const QString file = tmp.path() + "/analysis/summary.json";
        testutil::writeFile(file, "{\"version\": 1, \"temperature\": \"hot\"}");
        try {
            (void)readAnalysisSummary(run);
            QFAIL("read a damaged summary");
        } catch (const AnalysisError &e) {
            QVERIFY2(std::string(e.what()).find(file.toStdString()) != std::string::npos, e.what());
        }
    }

    // The epoch's fidelity fields reach metrics.jsonl and come back; older
    // lines without them read as NaN.
    void epochFidelityFieldsRoundTrip()
    {
        QTemporaryDir tmp;
        EpochMetrics e;
        e.stage = StageKind::Distillation;
        e.epoch = 2;
        e.valAgreement = 0.875;
        e.valKl = 0.25;
        e.valKlAtT = 0.0625;
        e.valEce = 0.03;
        EpochMetrics teacher;
        teacher.valEce = 0.01; // agreement and KL do not apply
        testutil::writeFile(tmp.path() + "/metrics.jsonl",
                            QByteArray::fromStdString(eventJson(e) + "\n" + eventJson(teacher) + "\n") +
                                "{\"event\": \"epoch\", \"stage\": \"student\", \"epoch\": 1}\n");
        const RunMetrics m = readRunMetrics(tmp.path().toStdString());
        QCOMPARE(int(m.epochs.size()), 3);
        QCOMPARE(m.epochs[0].valAgreement, 0.875);
        QCOMPARE(m.epochs[0].valKl, 0.25);
        QCOMPARE(m.epochs[0].valKlAtT, 0.0625);
        QCOMPARE(m.epochs[0].valEce, 0.03);
        QVERIFY(std::isnan(m.epochs[1].valAgreement) && std::isnan(m.epochs[1].valKl));
        QCOMPARE(m.epochs[1].valEce, 0.01);
        QVERIFY(std::isnan(m.epochs[2].valAgreement) && std::isnan(m.epochs[2].valEce));
    }

    // A short run: analysis/ holds each stage's logits and figures, and the
    // students' epochs carry their fidelity to the teacher.
    void shortRunWritesTheAnalysis()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 2;
        e.studentTrain.epochs = 2;
        e.baseline = true;
        e.distillation.temperature = 3;
        testutil::Recorder rec;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        const RunResult r = engine.run(rec);
        QCOMPARE(int(r.status), int(RunStatus::Finished));
        QCOMPARE(int(rec.epochs.size()), 6);
        for (const auto &ep : rec.epochs) {
            QVERIFY(ep.valEce >= 0 && ep.valEce <= 1);
            if (ep.stage == StageKind::Teacher) {
                QVERIFY(std::isnan(ep.valAgreement) && std::isnan(ep.valKl) && std::isnan(ep.valKlAtT));
            } else {
                QVERIFY(ep.valAgreement >= 0 && ep.valAgreement <= 1);
                QVERIFY(ep.valKl >= 0 && ep.valKlAtT >= 0);
                QVERIFY(ep.valKl != ep.valKlAtT);
            }
        }
        const RunMetrics m = readRunMetrics(r.runDir);
        QCOMPARE(m.epochs.back().valAgreement, rec.epochs.back().valAgreement);
        const AnalysisSummary s = readAnalysisSummary(r.runDir);
        QCOMPARE(s.temperature, 3.0);
        QCOMPARE(s.classes, std::int64_t(4));
        QCOMPARE(int(s.stages.size()), 3);
        const char *names[] = {"teacher", "baseline", "student"};
        for (int i = 0; i < 3; ++i) {
            const StageAnalysis &a = s.stages[std::size_t(i)];
            QCOMPARE(QString::fromStdString(a.stage), QString(names[i]));
            const AnalysisLogits z = readAnalysisLogits(r.runDir + "/analysis/" + a.logitsFile);
            QCOMPARE(z.rows, std::int64_t(500));
            QCOMPARE(z.classes, std::int64_t(4));
            // The figures are those of the saved logits, and the accuracy the stage's.
            QVERIFY(std::abs(a.accuracy - r.stages[std::size_t(i)].testAccuracy) < 1e-9);
            QCOMPARE(a.calibration.ece, calibration(z.view(), z.labels.data()).ece);
            QCOMPARE(a.parameters, r.stages[std::size_t(i)].parameters);
            QVERIFY(a.latency.medianMs > 0 && a.latency.passes >= 20);
            QCOMPARE(bool(a.teacher), i > 0);
            QCOMPARE(bool(a.baseline), i == 2);
        }
        // The teacher's validation logits the students were compared with.
        const AnalysisLogits tv = readAnalysisLogits(r.runDir + "/analysis/teacher.validation.logits");
        QCOMPARE(tv.rows, std::int64_t(200)); // a tenth of the 2,000 training samples
        const StageAnalysis &student = s.stages[2];
        const auto &q = *student.teacher;
        QCOMPARE(q.bothRight.count + q.teacherOnly.count + q.modelOnly.count + q.bothWrong.count, std::int64_t(500));
    }
};

QTEST_GUILESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
