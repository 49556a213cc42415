// Insight ▸ Data map on hand-made training dynamics: the points drawn, the
// examples a dragged rectangle lists (with the mouse, as a user drags), the
// ranking by what the teacher changed, and the states of runs without (or
// with damaged) dynamics files. And Insight ▸ Fidelity's curves growing as
// epochs arrive from a run in progress.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and qcustomplot.h needs them.
#undef QT_NO_KEYWORDS
#include "distillery/analysis.h"
#include "insightcurves.h"
#include "insightdata.h"
#include "liveplot.h"
#include "insightdatamap.h"
#include "insightplot.h"
#include "testutil.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <random>

using namespace distillery;

namespace {

constexpr std::int64_t kExamples = 300;
constexpr std::int64_t kEpochs = 5;

// Random dynamics of the same 300 training rows; `shift` raises the student's confidence.
TrainingDynamics dynamics(unsigned seed, float shift)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    TrainingDynamics d;
    d.rows = kExamples;
    d.epochs = kEpochs;
    for (std::int64_t i = 0; i < kExamples; ++i) {
        d.trainRows.push_back(1000 + 3 * i);
        d.labels.push_back(i % 4);
    }
    for (std::int64_t e = 0; e < kEpochs; ++e)
        for (std::int64_t i = 0; i < kExamples; ++i) {
            const bool unseen = e == 2 && i == 7; // a dropped last batch
            const float p = std::min(1.0f, u(rng) * 0.8f + shift * float(i % 3));
            d.probability.push_back(unseen ? std::nanf("") : p);
            d.correct.push_back(unseen ? TrainingDynamics::kUnseen : std::uint8_t(p > 0.5f));
        }
    return d;
}

// The confidence, variability and correctness of example `i`, worked out here.
struct Point {
    double confidence = 0, variability = 0, correctness = 0;
};
Point pointOf(const TrainingDynamics &d, std::int64_t i)
{
    std::vector<double> p;
    double right = 0;
    for (std::int64_t e = 0; e < d.epochs; ++e) {
        const auto at = std::size_t(e * d.rows + i);
        if (d.correct[at] != TrainingDynamics::kUnseen) {
            p.push_back(d.probability[at]);
            right += d.correct[at];
        }
    }
    Point r;
    for (double v : p)
        r.confidence += v / double(p.size());
    for (double v : p)
        r.variability += (v - r.confidence) * (v - r.confidence) / double(p.size());
    r.variability = std::sqrt(r.variability);
    r.correctness = right / double(p.size());
    return r;
}

InsightRun runIn(const QString &dir)
{
    InsightRun run;
    run.runDir = dir;
    run.summary.classes = 4;
    run.summary.classNames = {"a", "b", "c", "d"};
    return run;
}

} // namespace

class TestInsightDataMap : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    TrainingDynamics baseline_ = dynamics(1, 0.0f), student_ = dynamics(2, 0.15f);

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(QDir(tmp_.path()).mkpath(QStringLiteral("run/analysis")));
        const std::string analysis = (tmp_.path() + "/run/analysis/").toStdString();
        writeTrainingDynamics(analysis + "baseline.dynamics", baseline_);
        writeTrainingDynamics(analysis + "student.dynamics", student_);
    }

    void drawsEveryExampleByItsCorrectness()
    {
        InsightDataMap view;
        view.setRun(runIn(tmp_.path() + "/run"));
        QVERIFY(view.messageLabel()->isHidden());
        QCOMPARE(view.stageOf(InsightDataMap::Left), QStringLiteral("baseline"));
        QCOMPARE(view.stageOf(InsightDataMap::Right), QStringLiteral("student"));
        const TrainingDynamics *files[2] = {&baseline_, &student_};
        for (int side = 0; side < 2; ++side) {
            QCustomPlot *p = view.map(InsightDataMap::Side(side))->plot();
            QCOMPARE(p->graphCount(), 6); // five bands of correctness and the ring of listed examples
            std::vector<int> expected(5, 0);
            for (std::int64_t i = 0; i < kExamples; ++i)
                ++expected[std::size_t(std::min(4, int(pointOf(*files[side], i).correctness * 5)))];
            for (int b = 0; b < 5; ++b)
                QCOMPARE(p->graph(b)->dataCount(), expected[std::size_t(b)]);
            const DataMap *m = view.dataMap(InsightDataMap::Side(side));
            for (std::int64_t i = 0; i < kExamples; ++i) {
                const Point q = pointOf(*files[side], i);
                QVERIFY(std::abs(m->confidence[std::size_t(i)] - q.confidence) < 1e-6);
                QVERIFY(std::abs(m->variability[std::size_t(i)] - q.variability) < 1e-6);
            }
        }
        // Both maps cover the same rows: the list opens on what the teacher made easier.
        QCOMPARE(view.listingBox()->currentIndex(), int(InsightDataMap::Easier));
        const QList<qint64> listed = view.listed();
        QCOMPARE(listed.size(), kExamples);
        const auto gain = [&](qint64 i) { return pointOf(student_, i).confidence - pointOf(baseline_, i).confidence; };
        for (int r = 1; r < listed.size(); ++r)
            QVERIFY(gain(listed[r - 1]) >= gain(listed[r]) - 1e-9);
        QCOMPARE(view.examples()->item(0, InsightDataMap::Row)->data(Qt::DisplayRole).toLongLong(),
                 1000 + 3 * listed[0]);
        QVERIFY(std::abs(view.examples()->item(0, InsightDataMap::Gain)->data(Qt::DisplayRole).toDouble() -
                         gain(listed[0])) < 1e-3);
        for (int side = 0; side < 2; ++side) // a ranking rings its head only
            QCOMPARE(view.map(InsightDataMap::Side(side))->plot()->graph(5)->dataCount(), 25);
        view.setListing(InsightDataMap::Harder);
        QCOMPARE(view.listed().first(), listed.last());
    }

    void aDraggedRectangleListsItsExamples()
    {
        InsightDataMap view;
        view.resize(1000, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setRun(runIn(tmp_.path() + "/run"));
        QCustomPlot *p = view.map(InsightDataMap::Left)->plot();
        p->replot();
        // Drag from (variability 0.05, confidence 0.6) to (0.3, 0.2) on the baseline's map.
        const QPoint from(int(p->xAxis->coordToPixel(0.05)), int(p->yAxis->coordToPixel(0.6)));
        const QPoint to(int(p->xAxis->coordToPixel(0.3)), int(p->yAxis->coordToPixel(0.2)));
        QTest::mousePress(p, Qt::LeftButton, Qt::NoModifier, from);
        QMouseEvent move(QEvent::MouseMove, to, p->mapToGlobal(to), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(p, &move);
        QTest::mouseRelease(p, Qt::LeftButton, Qt::NoModifier, to);
        QCOMPARE(view.listingBox()->currentIndex(), int(InsightDataMap::Region));
        // The rectangle's corners are whole pixels: compare with the coordinates they stand for.
        const double v0 = p->xAxis->pixelToCoord(from.x()), v1 = p->xAxis->pixelToCoord(to.x());
        const double c0 = p->yAxis->pixelToCoord(to.y()), c1 = p->yAxis->pixelToCoord(from.y());
        QList<qint64> expected;
        for (std::int64_t i = 0; i < kExamples; ++i) {
            const Point q = pointOf(baseline_, i);
            if (q.variability >= v0 && q.variability <= v1 && q.confidence >= c0 && q.confidence <= c1)
                expected << i;
        }
        QVERIFY(!expected.isEmpty());
        QCOMPARE(view.listed(), expected);
        QCOMPARE(view.examples()->rowCount(), int(expected.size()));
        // Ringed on both maps, each at the example's own point.
        for (int side = 0; side < 2; ++side) {
            QCustomPlot *q = view.map(InsightDataMap::Side(side))->plot();
            QCOMPARE(q->graph(5)->dataCount(), int(expected.size()));
        }
        const double studentConfidence = pointOf(student_, expected.first()).confidence;
        bool found = false;
        for (auto it = view.map(InsightDataMap::Right)->plot()->graph(5)->data()->begin();
             it != view.map(InsightDataMap::Right)->plot()->graph(5)->data()->end(); ++it)
            found = found || std::abs(it->value - studentConfidence) < 1e-9;
        QVERIFY(found);
        QString png = tmp_.path() + "/map.png";
        QVERIFY(view.map(InsightDataMap::Left)->exportTo(png));
        QVERIFY(QImage(png).width() > 100);
    }

    void fidelityCurvesGrowAsEpochsArrive()
    {
        const auto epoch = [](StageKind stage, int n, double agreement) {
            EpochMetrics e;
            e.stage = stage;
            e.epoch = n;
            e.step = 10 * n;
            e.valAgreement = agreement;
            e.valKl = 0.5 / n;
            e.valKlAtT = 0.1 / n;
            e.valEce = 0.05;
            return e;
        };
        InsightRun run = runIn(tmp_.path() + "/run");
        run.metrics.epochs = {epoch(StageKind::Teacher, 1, std::nan("")), epoch(StageKind::Baseline, 1, 0.8),
                              epoch(StageKind::Baseline, 2, 0.82), epoch(StageKind::Distillation, 1, 0.85)};
        InsightFidelity view;
        view.setRun(run);
        LivePlot *agreement = view.agreementPlot();
        QCOMPARE(agreement->seriesCount(), 2); // baseline and student; the teacher has no agreement
        QCOMPARE(agreement->pointCount(0), 2);
        QCOMPARE(agreement->pointCount(1), 1);
        view.addEpoch(epoch(StageKind::Distillation, 2, 0.9)); // the student's next epoch, live
        QCOMPARE(agreement->pointCount(1), 2);
        view.addEpoch(epoch(StageKind::Distillation, 2, 0.9)); // already drawn (read from the file too)
        view.addEpoch(epoch(StageKind::Distillation, 1, 0.9));
        QCOMPARE(agreement->pointCount(1), 2);
        QCOMPARE(view.plots()[3]->seriesCount(), 3); // ECE: the teacher's too
    }

    // No baseline: the teacher's map (all 300 rows) beside a student that
    // learnt from 100 of them. Positions on one map are not the other's.
    void mapsOfDifferentExamplesListTheirOwn()
    {
        QVERIFY(QDir(tmp_.path()).mkpath(QStringLiteral("subset/analysis")));
        TrainingDynamics student = dynamics(3, 0.1f), teacher = baseline_;
        student.rows = 100;
        student.trainRows.resize(100);
        student.labels.resize(100);
        std::vector<float> p;
        std::vector<std::uint8_t> c;
        for (std::int64_t e = 0; e < kEpochs; ++e)
            for (std::int64_t i = 0; i < 100; ++i) {
                student.trainRows[std::size_t(i)] = teacher.trainRows[std::size_t(2 * i)];
                student.labels[std::size_t(i)] = teacher.labels[std::size_t(2 * i)];
                p.push_back(student.probability[std::size_t(e * kExamples + i)]);
                c.push_back(student.correct[std::size_t(e * kExamples + i)]);
            }
        student.probability = p;
        student.correct = c;
        const std::string analysis = (tmp_.path() + "/subset/analysis/").toStdString();
        writeTrainingDynamics(analysis + "teacher.dynamics", teacher);
        writeTrainingDynamics(analysis + "student.dynamics", student);
        InsightDataMap view;
        view.setRun(runIn(tmp_.path() + "/subset"));
        QCOMPARE(view.stageOf(InsightDataMap::Left), QStringLiteral("teacher"));
        QCOMPARE(view.listingBox()->currentIndex(), int(InsightDataMap::Region)); // no ranking across sets
        view.selectRegion(InsightDataMap::Left, QRectF(0.0, 0.0, 0.5, 1.0)); // the whole teacher map
        QCOMPARE(view.listed().size(), kExamples);
        const int last = int(kExamples) - 1;
        QCOMPARE(view.examples()->item(last, InsightDataMap::Row)->data(Qt::DisplayRole).toLongLong(),
                 teacher.trainRows.back());
        QVERIFY(view.examples()->item(last, InsightDataMap::RightConfidence)->data(Qt::DisplayRole).isNull());
        QCOMPARE(view.map(InsightDataMap::Left)->plot()->graph(5)->dataCount(), int(kExamples));
        QCOMPARE(view.map(InsightDataMap::Right)->plot()->graph(5)->dataCount(), 0);
        view.selectRegion(InsightDataMap::Right, QRectF(0.0, 0.0, 0.5, 1.0));
        QCOMPARE(view.listed().size(), 100);
        QCOMPARE(view.examples()->item(99, InsightDataMap::Row)->data(Qt::DisplayRole).toLongLong(),
                 student.trainRows.back());
        QCOMPARE(view.map(InsightDataMap::Left)->plot()->graph(5)->dataCount(), 0);
    }

    void runsWithoutOrWithDamagedDynamicsSaySo()
    {
        QVERIFY(QDir(tmp_.path()).mkpath(QStringLiteral("old/analysis")));
        InsightDataMap view;
        view.setRun(runIn(tmp_.path() + "/old"));
        QVERIFY(!view.messageLabel()->isHidden());
        QVERIFY(view.messageLabel()->text().contains(QStringLiteral("No training dynamics")));
        QCOMPARE(view.map(InsightDataMap::Left)->plot()->graph(0)->dataCount(), 0);

        QVERIFY(QDir(tmp_.path()).mkpath(QStringLiteral("damaged/analysis")));
        const QString damaged = tmp_.path() + "/damaged/analysis/student.dynamics";
        const QByteArray good = testutil::readFile(tmp_.path() + "/run/analysis/student.dynamics");
        testutil::writeFile(damaged, good.left(good.size() - 3));
        QFile::copy(tmp_.path() + "/run/analysis/baseline.dynamics", tmp_.path() + "/damaged/analysis/baseline.dynamics");
        view.setRun(runIn(tmp_.path() + "/damaged"));
        QVERIFY(view.messageLabel()->text().contains(damaged));
        QVERIFY(view.messageLabel()->text().contains(QStringLiteral("truncated")));
        QCOMPARE(view.stageOf(InsightDataMap::Left), QStringLiteral("baseline")); // the other map still drawn
        QVERIFY(view.listed().isEmpty());
        QVERIFY(view.stageOf(InsightDataMap::Right).isEmpty());
    }
};

QTEST_MAIN(TestInsightDataMap)
#include "tst_insight_datamap.moc"
