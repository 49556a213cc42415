// The line above a live plot: its title, and the controls of how it is drawn
// (smoothing, log y, x by step or epoch; fitting and export in a menu). The
// title keeps its room; the less frequent commands sit behind "⋯".
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QSlider;

class PlotBar : public QWidget {
    Q_OBJECT
public:
    explicit PlotBar(const QString &title, QWidget *parent = nullptr);

    QSlider *smoothSlider() const { return smooth_; }
    QCheckBox *logCheck() const { return log_; }
    QComboBox *xCombo() const { return x_; }

Q_SIGNALS:
    void fitRequested();
    void exportRequested();

private:
    QSlider *smooth_;
    QCheckBox *log_;
    QComboBox *x_;
};
