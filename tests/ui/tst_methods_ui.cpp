// Every method of the picker trains from the window: chosen in the
// Distillation section, its parameters set in the form the section builds for
// it, Start runs it to the end; the run folder's config holds what the form
// showed, and the loss plot draws the method's own parts.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and the window's headers need them.
#undef QT_NO_KEYWORDS
#include "distillationeditor.h"
#include "experimentpanel.h"
#include "liveplot.h"
#include "mainwindow.h"
#include "trainingcontroller.h"
#include "testutil.h"

#include "distillery/methods.h"

#include <QAction>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest/QtTest>

#include <qcustomplot.h>

using namespace distillery;

using Params = QMap<QString, double>;
Q_DECLARE_METATYPE(Params)

namespace {

struct Row {
    QString method;
    Params params;     // set in the method's form
    QStringList parts; // the loss plot's legend entries for its parts
};

// One row per method; the picker must offer exactly these.
QList<Row> rows()
{
    const QString hard = QStringLiteral("hard (CE)");
    const auto own = [](const char *part) { return QStringLiteral("student ") + QLatin1String(part); };
    return {
        {QStringLiteral("kd"), {}, {QStringLiteral("soft (KD)"), hard}},
        {QStringLiteral("dkd"), {{"warmup", 1}}, {own("tckd"), own("nckd"), hard}},
        // With vanilla KD's term beside its own: a curve of its own too.
        {QStringLiteral("dist"), {{"kd", 0.5}}, {own("inter"), own("intra"), QStringLiteral("soft (KD)"), hard}},
        // The reference's weights are tuned for CIFAR ResNets; on these
        // 10×10 images they would drown the labels.
        {QStringLiteral("fitnet"), {{"beta", 10}}, {own("hint"), hard}},
        {QStringLiteral("at"), {{"beta", 50}}, {own("attention"), hard}},
        {QStringLiteral("sp"), {}, {own("similarity"), hard}},
        {QStringLiteral("rkd"), {}, {own("distance"), own("angle"), hard}},
        {QStringLiteral("pkt"), {}, {own("pkt"), hard}},
        {QStringLiteral("crd"), {{"nce_k", 256}, {"feat_dim", 32}}, {own("contrast"), hard}},
        {QStringLiteral("dml"), {{"students", 3}}, {own("mutual"), hard, own("peers")}},
    };
}

} // namespace

class TestMethodsUi : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyMethodTrainsFromThePicker_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<Params>("params");
        QTest::addColumn<QStringList>("parts");
        for (const Row &r : rows())
            QTest::newRow(qPrintable(r.method)) << r.method << r.params << r.parts;
    }

    void everyMethodTrainsFromThePicker()
    {
        QFETCH(QString, method);
        QFETCH(Params, params);
        QFETCH(QStringList, parts);
        // A conv teacher and a conv student on 10×10 images: every method
        // finds its taps (maps for AT and FitNets, embeddings for the others).
        Experiment e = testutil::convPairExperiment();
        e.name = "picked";
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.baseline = false;
        e.logEverySteps = 2;
        QTemporaryDir dir, ws;
        const QString path = dir.path() + QStringLiteral("/picked.json");
        saveExperiment(e, path.toStdString());
        MainWindow w(ws.path(), path);
        w.setConfirmClose(false);
        w.show();
        QTRY_VERIFY_WITH_TIMEOUT(w.experimentPanel()->dataReady(), 15000);

        ExperimentPanel *p = w.experimentPanel();
        QComboBox *picker = p->methodBox();
        const int index = picker->findData(method);
        QVERIFY2(index >= 0, qPrintable(method));
        picker->setCurrentIndex(index);
        for (auto it = params.cbegin(); it != params.cend(); ++it) {
            auto *field = qobject_cast<QDoubleSpinBox *>(p->distillationEditor()->paramField(it.key()));
            QVERIFY2(field, qPrintable(it.key()));
            field->setValue(it.value());
        }
        QVERIFY2(p->problem().isEmpty(), qPrintable(p->problem()));
        QVERIFY(w.startAction()->isEnabled());

        QSignalSpy finished(w.controller(), &TrainingController::runFinished);
        w.startAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        const auto result = finished.first().first().value<RunResult>();
        QVERIFY2(result.status == RunStatus::Finished, result.message.c_str());
        QTRY_VERIFY(!w.controller()->isRunning());

        // What the form showed is what the run trained with.
        const QJsonObject k = QJsonDocument::fromJson(testutil::readFile(
            QString::fromStdString(result.runDir) + QStringLiteral("/config.json"))).object()[QStringLiteral("distillation")].toObject();
        QCOMPARE(k[QStringLiteral("method")].toString(), method);
        for (auto it = params.cbegin(); it != params.cend(); ++it)
            QCOMPARE(k[QStringLiteral("params")].toObject()[it.key()].toDouble(), it.value());

        // Each of the method's parts is a curve with points.
        QTRY_VERIFY(w.lossPlot()->isUpToDate());
        QCustomPlot *plot = w.lossPlot()->plot();
        QStringList drawn;
        for (int i = 0; i < plot->graphCount(); ++i)
            if (plot->graph(i)->visible() && plot->graph(i)->dataCount() > 0 && !plot->graph(i)->name().isEmpty())
                drawn << plot->graph(i)->name();
        for (const QString &part : parts)
            QVERIFY2(drawn.contains(part), qPrintable(part + QStringLiteral(" not in: ") + drawn.join(QStringLiteral(", "))));
    }

    // The picker offers the catalogue's methods, in its order: exactly those rows() trains.
    void thePickerOffersEveryMethod()
    {
        ExperimentPanel p;
        p.setExperiment(testutil::syntheticExperiment());
        QStringList offered;
        for (int i = 0; i < p.methodBox()->count(); ++i)
            offered << p.methodBox()->itemData(i).toString();
        QStringList catalogue, trained;
        for (const MethodInfo &m : distillationMethods())
            catalogue << QString::fromStdString(m.name);
        QCOMPARE(offered, catalogue);
        for (const Row &r : rows())
            trained << r.method;
        offered.sort();
        trained.sort();
        QCOMPARE(offered, trained);
    }
};

QTEST_MAIN(TestMethodsUi)
#include "tst_methods_ui.moc"
