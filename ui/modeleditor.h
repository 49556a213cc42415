// Picks a model from the presets or edits it layer by layer, showing each
// layer's output shape and cost, the totals, and the first problem inline.
#pragma once

#include "distillery/architecture.h"

#include <QWidget>

class FoldSection;
class QComboBox;
class QLabel;
class QLineEdit;
class QTableWidget;

class ModelEditor : public QWidget {
    Q_OBJECT
public:
    explicit ModelEditor(QWidget *parent = nullptr);

    void setModel(const distillery::ModelSpec &model);
    distillery::ModelSpec model() const;
    // The data the model must fit; until it is known, only the layers are checked.
    void setDataShape(const distillery::Shape &input, int classes);
    const distillery::ArchitectureReport &report() const { return report_; }
    // Empty when the model fits the data.
    QString problem() const;
    QTableWidget *table() const { return table_; }
    // The layer table and its buttons, folded to the model's summary line.
    FoldSection *layersSection() const { return layers_; }
    // One line: parameters, multiply-adds and output shape (or what is wrong).
    QString summary() const;

Q_SIGNALS:
    void changed();

private:
    void presetChosen();
    void fillTable(const distillery::Architecture &layers);
    distillery::Architecture tableLayers() const;
    void tableEdited();
    void addLayer();
    void removeLayer();
    void moveLayer(int delta);
    void analyse();

    QComboBox *preset_;
    QLineEdit *hidden_;
    QLabel *hiddenLabel_;
    QTableWidget *table_;
    FoldSection *layers_;
    QLabel *error_;
    distillery::Shape input_;
    int classes_ = 0;
    distillery::ArchitectureReport report_;
    double dropout_ = 0.0;
    bool filling_ = false;
};
