// Insight ▸ Soft targets: for one test example, the teacher's and the
// student's softmax(z/T) per class from their stored logits, with a
// temperature slider; the same slider drives the teacher's dark-knowledge
// matrix (per true class, the mean of its softmax(t/T): what the soft targets
// teach about which classes look alike).
#pragma once

#include "insightplot.h"

#include <QWidget>

#include <cstdint>

class QCheckBox;
class QCPBars;
class QLabel;
class QSlider;
class QSpinBox;
struct InsightRun;

class InsightSoftTargets : public QWidget {
    Q_OBJECT
public:
    explicit InsightSoftTargets(QWidget *parent = nullptr);
    // `run` must outlive the view's use of it (the Insight view owns it).
    void setRun(const InsightRun *run);

    QSlider *temperatureSlider() const { return slider_; }
    QSpinBox *exampleBox() const { return example_; }
    QCheckBox *offDiagonalBox() const { return offDiagonal_; }
    InsightPlot *softPlot() const { return soft_; }
    InsightPlot *darkPlot() const { return dark_; }
    const insight::Heatmap &darkCells() const { return heat_; }
    // The bars of the teacher (0) and the student (1); null when absent.
    QCPBars *bars(int which) const { return which == 0 ? teacherBars_ : studentBars_; }
    double temperature() const;
    // The slider's positions: T = value / kSliderScale.
    static constexpr int kSliderScale = 10;

public Q_SLOTS:
    void setTemperature(double t);
    void setExample(qint64 index);

private:
    void redraw();
    void drawSoftTargets();
    void drawDarkKnowledge();
    QCPBars *addBars(const QString &name, const QColor &color);

    const InsightRun *run_ = nullptr;
    QSlider *slider_;
    QLabel *tLabel_;
    QSpinBox *example_;
    QLabel *exampleLabel_;
    QCheckBox *offDiagonal_;
    InsightPlot *soft_;
    InsightPlot *dark_;
    insight::Heatmap heat_;
    QCPBars *teacherBars_ = nullptr;
    QCPBars *studentBars_ = nullptr;
};
