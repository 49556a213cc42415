// Insight ▸ Examples (ui/insightexamples.cpp): the example browser on real
// run folders, one on synthetic vectors (10 classes, so that the models err)
// and one on a small IDX data set of known pixels.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and qcustomplot.h needs them.
#undef QT_NO_KEYWORDS
#include "insightconfusion.h"
#include "insightdatamap.h"
#include "insightexamples.h"
#include "insightsoft.h"
#include "insightview.h"
#include "testutil.h"

#include "distillery/analysis.h"
#include "distillery/data.h"
#include "distillery/engine.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QToolButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

constexpr int kHeight = 12, kWidth = 10, kClasses = 4;

QString runIn(const QString &workspace, Experiment e)
{
    testutil::Recorder rec;
    const RunResult r = Engine(e, EngineOptions{workspace.toStdString()}).run(rec);
    if (r.status != RunStatus::Finished)
        qWarning("run %s: %s", e.name.c_str(), r.message.c_str());
    return QString::fromStdString(r.runDir);
}

AnalysisLogits logitsOf(const QString &run, const char *stage)
{
    return readAnalysisLogits((run + QStringLiteral("/analysis/%1.logits").arg(QLatin1String(stage))).toStdString());
}

std::vector<std::int64_t> sorted(std::vector<std::int64_t> v)
{
    std::sort(v.begin(), v.end());
    return v;
}

// KL(softmax(t) ‖ softmax(s)) of one row, computed here.
double klRow(const AnalysisLogits &t, const AnalysisLogits &s, std::int64_t row)
{
    auto softmax = [](const float *z, std::int64_t k) {
        std::vector<double> p(static_cast<std::size_t>(k));
        double top = -INFINITY, sum = 0;
        for (std::int64_t i = 0; i < k; ++i)
            top = std::max(top, double(z[i]));
        for (std::int64_t i = 0; i < k; ++i)
            sum += p[std::size_t(i)] = std::exp(double(z[i]) - top);
        for (double &v : p)
            v /= sum;
        return p;
    };
    const auto q = softmax(t.logits.data() + row * t.classes, t.classes);
    const auto p = softmax(s.logits.data() + row * s.classes, s.classes);
    double kl = 0;
    for (std::size_t i = 0; i < q.size(); ++i)
        if (q[i] > 0)
            kl += q[i] * (std::log(q[i]) - std::log(p[i]));
    return kl;
}

} // namespace

class TestInsightExamples : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString vectorsRun_, imagesRun_, idxDir_;

    // An Insight view on `run` with the Examples tab shown and its data set read.
    std::unique_ptr<InsightView> open(const QString &run)
    {
        auto view = std::make_unique<InsightView>();
        view->resize(1200, 800);
        view->showRun(run);
        view->show();
        [&] {
            QTRY_VERIFY(view->showsFigures());
            view->tabs()->setCurrentWidget(view->examples());
            QTRY_VERIFY_WITH_TIMEOUT(view->examples()->inputsLoaded(), 30000);
        }();
        return view;
    }

private Q_SLOTS:
    void initTestCase()
    {
        Experiment v = testutil::syntheticExperiment();
        v.name = "vectors";
        v.data.syntheticClasses = 10;
        v.data.syntheticTest = 1000;
        v.teacher.train.epochs = 2;
        v.studentTrain.epochs = 1;
        vectorsRun_ = runIn(dir_.filePath(QStringLiteral("ws")), v);

        idxDir_ = dir_.filePath(QStringLiteral("idx"));
        QVERIFY(QDir().mkpath(idxDir_));
        testutil::writeIdxDataSet(idxDir_, 800, 200, kHeight, kWidth, kClasses);
        Experiment i = testutil::syntheticExperiment();
        i.name = "images";
        i.data.source = "idx";
        i.data.path = idxDir_.toStdString();
        i.teacher.train.epochs = 1;
        i.studentTrain.epochs = 1;
        imagesRun_ = runIn(dir_.filePath(QStringLiteral("ws")), i);
        QVERIFY(QFileInfo::exists(vectorsRun_ + QStringLiteral("/analysis/student.logits")));
        QVERIFY(QFileInfo::exists(imagesRun_ + QStringLiteral("/analysis/student.logits")));
    }

    // Each filter lists exactly the examples analysis/summary.json lists.
    void filtersListTheSummarysExamples()
    {
        auto view = open(vectorsRun_);
        InsightExamples *ex = view->examples();
        const AnalysisSummary summary = readAnalysisSummary(vectorsRun_.toStdString());
        const StageAnalysis *student = summary.stage("student");
        QVERIFY(student && student->teacher && student->baseline);
        const TeacherComparison &t = *student->teacher;
        const ExampleSet *quadrants[] = {&t.bothRight, &t.teacherOnly, &t.modelOnly, &t.bothWrong};
        QVERIFY(t.teacherOnly.count + t.modelOnly.count + t.bothWrong.count > 0); // the models err
        // Every filter offered, each beginning with "all".
        QCOMPARE(ex->quadrantBox()->count(), 5);
        QCOMPARE(ex->changeBox()->count(), 3);
        QCOMPARE(ex->classBox()->count(), 11);
        for (QComboBox *box : {ex->quadrantBox(), ex->changeBox(), ex->classBox(), ex->orderBox()}) {
            QCOMPARE(box->currentIndex(), 0);
            QVERIFY(!box->currentText().isEmpty());
        }
        for (int q = 0; q < 4; ++q) {
            ex->quadrantBox()->setCurrentIndex(q + 1); // as a user picks it
            ex->orderBox()->setCurrentIndex(1);        // by index
            QCOMPARE(ex->model()->listed(), sorted(quadrants[q]->indices));
            QCOMPARE(ex->model()->rowCount(), int(quadrants[q]->count));
            QVERIFY(ex->countLabel()->text().startsWith(QLocale().toString(quadrants[q]->count)));
        }
        const ExampleSet *changes[] = {&student->baseline->fixed, &student->baseline->broken};
        for (int c = 0; c < 2; ++c) {
            ex->setFilter({-1, c, -1, ExampleFilter::ByIndex});
            QCOMPARE(ex->model()->listed(), sorted(changes[c]->indices));
        }
        const AnalysisLogits teacher = logitsOf(vectorsRun_, "teacher");
        for (int k = 0; k < 10; ++k) {
            std::vector<std::int64_t> expected;
            for (std::int64_t r = 0; r < teacher.rows; ++r)
                if (teacher.labels[std::size_t(r)] == k)
                    expected.push_back(teacher.indices[std::size_t(r)]);
            ex->classBox()->setCurrentIndex(k + 1);
            ex->quadrantBox()->setCurrentIndex(0);
            ex->changeBox()->setCurrentIndex(0);
            QCOMPARE(ex->model()->listed(), expected);
            QCOMPARE(qint64(expected.size()), student->classCounts[std::size_t(k)]);
            // With a quadrant: the examples of both.
            ex->quadrantBox()->setCurrentIndex(ExampleFilter::TeacherOnly + 1);
            std::vector<std::int64_t> both;
            for (std::int64_t i : sorted(t.teacherOnly.indices))
                if (teacher.labels[std::size_t(i)] == k)
                    both.push_back(i);
            QCOMPARE(ex->model()->listed(), both);
        }
        ex->setFilter({});
        QCOMPARE(ex->model()->rowCount(), int(teacher.rows));
    }

    // By KL: the order of KL(teacher ‖ student) at T = 1 recomputed from the files.
    void klOrderIsTheLogitsFiles()
    {
        auto view = open(vectorsRun_);
        InsightExamples *ex = view->examples();
        ex->setFilter({});
        QCOMPARE(ex->orderBox()->currentIndex(), 0);
        const AnalysisLogits t = logitsOf(vectorsRun_, "teacher"), s = logitsOf(vectorsRun_, "student");
        std::vector<std::pair<double, std::int64_t>> expected;
        for (std::int64_t r = 0; r < t.rows; ++r)
            expected.emplace_back(klRow(t, s, r), t.indices[std::size_t(r)]);
        std::sort(expected.begin(), expected.end(), [](const auto &a, const auto &b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        const auto &listed = ex->model()->listed();
        QCOMPARE(listed.size(), expected.size());
        int same = 0;
        for (std::size_t i = 0; i < listed.size(); ++i) {
            QVERIFY(std::abs(ex->model()->kl(listed[i]) - klRow(t, s, listed[i])) < 1e-9);
            same += listed[i] == expected[i].second;
            if (i > 0) // non-increasing, up to rounding between the two computations
                QVERIFY(klRow(t, s, listed[i]) <= klRow(t, s, listed[i - 1]) + 1e-9);
        }
        QVERIFY2(same >= int(listed.size()) - 2, qPrintable(QString::number(same)));
        // Vectors: the first feature values as read, in the Input column.
        const Experiment e = loadExperiment((vectorsRun_ + QStringLiteral("/config.json")).toStdString());
        const DatasetExamples d = datasetExamples(e.data, "test", {listed[0]});
        const QString text = ex->model()->index(0, InsightExampleModel::Input).data().toString();
        QVERIFY2(text.startsWith(QLocale().toString(d.features[0][0], 'f', 2)), qPrintable(text));
        // Choosing an example shows its soft targets, here and in Soft targets.
        ex->list()->selectRow(3);
        QCOMPARE(qint64(view->softTargets()->exampleBox()->value()), qint64(listed[3]));
        QCPBars *bars = ex->softPlot()->plot()->findChild<QCPBars *>();
        QVERIFY(bars);
        QCOMPARE(bars->dataCount(), 10);
        const QPoint at = ex->list()->visualRect(ex->model()->index(3, 0)).center();
        QTest::mouseClick(ex->list()->viewport(), Qt::LeftButton, {}, at); // a double-click begins with a press
        QTest::mouseDClick(ex->list()->viewport(), Qt::LeftButton, {}, at);
        QCOMPARE(view->tabs()->currentWidget(), static_cast<QWidget *>(view->softTargets()));
    }

    // Confusion's "Show in Examples" lists the cell's examples in the browser.
    void aConfusionCellOpensInTheBrowser()
    {
        auto view = open(vectorsRun_);
        InsightConfusion *confusion = view->confusion();
        view->tabs()->setCurrentWidget(confusion);
        confusion->setMode(InsightConfusion::Baseline);
        confusion->showCell(3, 5);
        QList<std::int64_t> cell = confusion->listedExamples();
        confusion->setMode(InsightConfusion::Student); // the listed cell stays the baseline's
        QVERIFY(confusion->browseButton()->isEnabled());
        QTest::mouseClick(confusion->browseButton(), Qt::LeftButton);
        InsightExamples *ex = view->examples();
        QCOMPARE(view->tabs()->currentWidget(), static_cast<QWidget *>(ex));
        QVERIFY(ex->cellButton()->isVisible());
        ex->orderBox()->setCurrentIndex(1);
        QCOMPARE(QList<std::int64_t>(ex->model()->listed().begin(), ex->model()->listed().end()), cell);
        QTest::mouseClick(ex->cellButton(), Qt::LeftButton); // every prediction again
        QVERIFY(ex->cellButton()->isHidden());
        QCOMPARE(ex->classBox()->currentIndex(), 4);
        QCOMPARE(ex->model()->rowCount(), int(readAnalysisSummary(vectorsRun_.toStdString()).stage("student")->classCounts[3]));
    }

    // Thumbnails are the data set's pixels, at its image size.
    void thumbnailsAreTheDataSetsPixels()
    {
        auto view = open(imagesRun_);
        InsightExamples *ex = view->examples();
        QVERIFY(ex->dataError().isEmpty());
        QVERIFY(ex->dataLabel()->isHidden());
        QCOMPARE(ex->model()->rowCount(), 200);
        for (std::int64_t index : {0, 17, 199}) {
            const QImage image = ex->model()->image(index);
            QCOMPARE(image.size(), QSize(kWidth, kHeight));
            for (int y = 0; y < kHeight; ++y)
                for (int x = 0; x < kWidth; ++x)
                    QCOMPARE(qGray(image.pixel(x, y)),
                             int(testutil::idxPixel(true, int(index), y, x, int(index % kClasses), kHeight, kClasses)));
        }
        const QVariant thumb = ex->model()->index(0, InsightExampleModel::Input).data(Qt::DecorationRole);
        QCOMPARE(thumb.value<QImage>().size(), ex->model()->thumbnailSize());
        QVERIFY(ex->model()->thumbnailSize().width() >= kWidth);
        ex->selectExample(17);
        QVERIFY(!ex->pictureLabel()->pixmap().isNull());
    }

    // A data set that cannot be read is named; the examples are still listed.
    void aMissingDataSetIsNamed()
    {
        const QString copy = dir_.filePath(QStringLiteral("moved"));
        QVERIFY(QDir().mkpath(copy + QStringLiteral("/analysis")));
        for (const QString &f : QDir(imagesRun_).entryList(QDir::Files))
            QVERIFY(QFile::copy(imagesRun_ + QLatin1Char('/') + f, copy + QLatin1Char('/') + f));
        for (const QString &f : QDir(imagesRun_ + QStringLiteral("/analysis")).entryList(QDir::Files))
            QVERIFY(QFile::copy(imagesRun_ + QStringLiteral("/analysis/") + f, copy + QStringLiteral("/analysis/") + f));
        const QString gone = dir_.filePath(QStringLiteral("no-such-data"));
        QJsonObject config = QJsonDocument::fromJson(testutil::readFile(copy + QStringLiteral("/config.json"))).object();
        QJsonObject data = config.value(QStringLiteral("data")).toObject();
        data.insert(QStringLiteral("path"), gone);
        config.insert(QStringLiteral("data"), data);
        QFile::remove(copy + QStringLiteral("/config.json"));
        testutil::writeFile(copy + QStringLiteral("/config.json"), QJsonDocument(config).toJson());

        auto view = open(copy);
        InsightExamples *ex = view->examples();
        QVERIFY2(ex->dataError().contains(gone), qPrintable(ex->dataError()));
        QVERIFY(ex->dataLabel()->isVisible());
        QVERIFY(ex->dataLabel()->text().contains(gone));
        QCOMPARE(ex->model()->rowCount(), 200);
        QVERIFY(ex->model()->image(5).isNull());
        QVERIFY(ex->list()->isColumnHidden(InsightExampleModel::Input)); // no empty column of pictures
        ex->orderBox()->setCurrentIndex(1);
        QCOMPARE(ex->model()->exampleAt(5), std::int64_t(5));
    }

    // Insight ▸ Data map on the images run: each listed training example
    // carries its picture, the one the data set holds at its row.
    void dataMapListsTheTrainingPictures()
    {
        auto view = std::make_unique<InsightView>();
        view->resize(1200, 800);
        view->showRun(imagesRun_);
        view->show();
        QTRY_VERIFY(view->showsFigures());
        InsightDataMap *map = view->dataMap();
        view->tabs()->setCurrentWidget(map);
        QTRY_VERIFY_WITH_TIMEOUT(map->picturesRead(), 30000);
        QVERIFY2(map->picturesError().isEmpty(), qPrintable(map->picturesError()));
        QCOMPARE(map->listingBox()->currentIndex(), int(InsightDataMap::Easier));
        QVERIFY(map->examples()->rowCount() > 0);
        const TrainingDynamics *d = map->dynamics(InsightDataMap::Right);
        QVERIFY(d);
        const Experiment e = loadExperiment((imagesRun_ + QStringLiteral("/config.json")).toStdString());
        for (int r : {0, map->examples()->rowCount() - 1}) {
            const qint64 position = map->listed()[r];
            const std::int64_t row = d->trainRows[std::size_t(position)];
            QCOMPARE(map->examples()->item(r, InsightDataMap::Row)->data(Qt::DisplayRole).toLongLong(), row);
            const QPixmap shown = map->examples()->item(r, InsightDataMap::Row)->data(Qt::DecorationRole).value<QPixmap>();
            const DatasetExamples ex = datasetExamples(e.data, "train", {row});
            QCOMPARE(ex.labels.front(), d->labels[std::size_t(position)]);
            const SampleImage &img = ex.images.front();
            QCOMPARE(shown.size(), QSize(img.width, img.height));
            const QImage pixels = shown.toImage().convertToFormat(QImage::Format_Grayscale8);
            for (int y = 0; y < img.height; ++y)
                for (int x = 0; x < img.width; ++x)
                    QCOMPARE(int(pixels.pixelColor(x, y).red()), int(img.pixels[std::size_t(y * img.width + x)]));
        }
    }
};

QTEST_MAIN(TestInsightExamples)
#include "tst_insight_examples.moc"
