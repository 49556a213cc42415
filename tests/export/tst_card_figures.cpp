// The model card's SVG figures (core/src/export/card_figures): well-formed
// XML, one bar per non-empty calibration bin and per class and stage, each
// as high as its value on the axis, text escaped.
#include "testutil.h"

#include "export/card_figures.h"

#include <QtTest/QtTest>
#include <QXmlStreamReader>

#include <cmath>

using namespace distillery;
using namespace distillery::detail;

namespace {

struct Rect {
    QString cls;
    double x = 0, y = 0, width = 0, height = 0, base = 0, value = 0;
    int bin = -1, klass = -1;
};

// The <rect> elements of an SVG document; fails the test on malformed XML.
QList<Rect> rects(const std::string &svg, QStringList *lineClasses = nullptr)
{
    QList<Rect> out;
    QXmlStreamReader xml(QByteArray::fromStdString(svg));
    bool root = false;
    while (!xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement)
            continue;
        const auto a = xml.attributes();
        if (!root) {
            root = true;
            if (xml.name() != QLatin1String("svg") || xml.namespaceUri() != QLatin1String("http://www.w3.org/2000/svg"))
                qWarning("root element is not svg");
        }
        if (xml.name() == QLatin1String("line") && lineClasses)
            *lineClasses << a.value(QStringLiteral("class")).toString();
        if (xml.name() != QLatin1String("rect"))
            continue;
        Rect r;
        r.cls = a.value(QStringLiteral("class")).toString();
        r.x = a.value(QStringLiteral("x")).toDouble();
        r.y = a.value(QStringLiteral("y")).toDouble();
        r.width = a.value(QStringLiteral("width")).toDouble();
        r.height = a.value(QStringLiteral("height")).toDouble();
        r.base = a.value(QStringLiteral("data-base")).toDouble();
        r.value = a.value(QStringLiteral("data-value")).toDouble();
        r.bin = a.hasAttribute(QStringLiteral("data-bin")) ? a.value(QStringLiteral("data-bin")).toInt() : -1;
        r.klass = a.hasAttribute(QStringLiteral("data-class")) ? a.value(QStringLiteral("data-class")).toInt() : -1;
        out << r;
    }
    if (xml.hasError())
        qWarning("malformed SVG: %s at line %lld", qPrintable(xml.errorString()), (long long)xml.lineNumber());
    return xml.hasError() || !root ? QList<Rect>{} : out;
}

QList<Rect> ofClass(const QList<Rect> &all, const QString &cls)
{
    QList<Rect> out;
    for (const Rect &r : all)
        if (r.cls == cls)
            out << r;
    return out;
}

StageAnalysis stage(const std::string &name, std::vector<double> perClass)
{
    StageAnalysis a;
    a.stage = name;
    a.examples = 1000;
    a.classes = std::int64_t(perClass.size());
    a.perClassAccuracy = std::move(perClass);
    a.calibration.ece = 0.0421;
    for (int b = 0; b < kCalibrationBins; ++b) {
        CalibrationBin bin;
        bin.lower = double(b) / kCalibrationBins;
        bin.upper = double(b + 1) / kCalibrationBins;
        if (b >= 4 && b != 9) { // bins 0-3 and 9 empty
            bin.count = 10 * b + 3;
            bin.accuracy = 0.05 * b + 0.01;
            bin.confidence = (b + 0.5) / kCalibrationBins;
        }
        a.calibration.bins.push_back(bin);
    }
    return a;
}

} // namespace

class TestCardFigures : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void reliabilityHasABarPerFilledBin()
    {
        const StageAnalysis a = stage("student", {0.9, 0.5});
        QStringList lines;
        const QList<Rect> all = rects(reliabilitySvg(a), &lines);
        QVERIFY(!all.isEmpty());
        QVERIFY(lines.contains(QStringLiteral("diagonal")));
        const QList<Rect> accuracy = ofClass(all, QStringLiteral("bar accuracy"));
        const QList<Rect> counts = ofClass(all, QStringLiteral("bar count"));
        std::int64_t most = 0;
        int filled = 0;
        for (const auto &b : a.calibration.bins) {
            most = std::max(most, b.count);
            filled += b.count > 0 ? 1 : 0;
        }
        QCOMPARE(accuracy.size(), filled);
        QCOMPARE(counts.size(), filled);
        QCOMPARE(lines.count(QStringLiteral("confidence")), filled);
        for (const Rect &r : accuracy) {
            const CalibrationBin &b = a.calibration.bins.at(std::size_t(r.bin));
            QVERIFY(b.count > 0);
            QCOMPARE(r.value, b.accuracy);
            QVERIFY2(std::abs(r.height - b.accuracy * kCardPlotHeight) < 0.01, qPrintable(QString::number(r.height)));
            QVERIFY(std::abs(r.y + r.height - r.base) < 0.011);
            QVERIFY(r.width > 0);
        }
        for (const Rect &r : counts) {
            const CalibrationBin &b = a.calibration.bins.at(std::size_t(r.bin));
            QCOMPARE(r.value, double(b.count));
            QVERIFY(std::abs(r.height - kCardCountHeight * double(b.count) / double(most)) < 0.01);
        }
        // Bars left to right in the order of the bins, not overlapping.
        for (int i = 1; i < accuracy.size(); ++i)
            QVERIFY(accuracy[i].x >= accuracy[i - 1].x + accuracy[i - 1].width);
    }

    void reliabilityOfNoExamples()
    {
        StageAnalysis a;
        a.stage = "teacher";
        const QList<Rect> all = rects(reliabilitySvg(a));
        QVERIFY(!all.isEmpty()); // the background
        QVERIFY(ofClass(all, QStringLiteral("bar accuracy")).isEmpty());
    }

    void perClassHasABarPerClassAndStage()
    {
        const double nan = std::nan("");
        const StageAnalysis t = stage("teacher", {0.95, 0.8, nan, 1.0});
        const StageAnalysis b = stage("baseline", {0.9, 0.6, nan, 0.0});
        const StageAnalysis s = stage("student", {0.92, 0.7, nan, 0.5});
        const std::vector<std::string> names{"T-shirt & <top>", "\"quoted\" 'name'", "Ünïcødé-ünïcødé", "3"};
        const QList<Rect> all = rects(perClassSvg({&t, &b, &s}, names));
        QVERIFY(!all.isEmpty());
        for (const StageAnalysis *a : {&t, &b, &s}) {
            const QList<Rect> bars = ofClass(all, QStringLiteral("bar ") + QString::fromStdString(a->stage));
            QCOMPARE(bars.size(), 3); // class 2 has no examples
            for (const Rect &r : bars) {
                QCOMPARE(r.value, a->perClassAccuracy.at(std::size_t(r.klass)));
                QVERIFY(std::abs(r.height - r.value * kCardPlotHeight) < 0.01);
                QVERIFY(std::abs(r.y + r.height - r.base) < 0.011);
            }
        }
        // Without a baseline (a run without one): two bars per class.
        QCOMPARE(ofClass(rects(perClassSvg({&t, nullptr, &s}, names)), QStringLiteral("bar baseline")).size(), 0);
        QCOMPARE(ofClass(rects(perClassSvg({&t, nullptr, &s}, names)), QStringLiteral("bar student")).size(), 3);
    }

    void perClassOfAHundredClasses()
    {
        std::vector<double> acc;
        for (int k = 0; k < 100; ++k)
            acc.push_back(k / 100.0);
        const StageAnalysis t = stage("teacher", acc), s = stage("student", acc);
        const QList<Rect> bars = ofClass(rects(perClassSvg({&t, nullptr, &s}, {})), QStringLiteral("bar student"));
        QCOMPARE(bars.size(), 100);
        for (const Rect &r : bars)
            QVERIFY(std::abs(r.height - r.klass / 100.0 * kCardPlotHeight) < 0.01);
    }

    void escapes()
    {
        QCOMPARE(xmlEscape("a & <b> \"c\" 'd'"), std::string("a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;"));
        QCOMPARE(xmlEscape(std::string("x\x01y")), std::string("xy"));
    }
};

QTEST_GUILESS_MAIN(TestCardFigures)
#include "tst_card_figures.moc"
