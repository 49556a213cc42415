#include "modeleditor.h"

#include "foldsection.h"
#include "format.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpressionValidator>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

using namespace distillery;

namespace {
enum Column { Type, Out, Kernel, Stride, P, OutputShape, Params, TapName, ColumnCount };
const QString customPreset = QStringLiteral("custom");
} // namespace

ModelEditor::ModelEditor(QWidget *parent)
    : QWidget(parent), preset_(new QComboBox(this)), hidden_(new QLineEdit(this)),
      hiddenLabel_(new QLabel(tr("Hidden"), this)), table_(new QTableWidget(0, ColumnCount, this)),
      layers_(new FoldSection(this)), error_(new QLabel(this))
{
    for (const auto &name : presetNames())
        preset_->addItem(QString::fromStdString(name));
    preset_->addItem(customPreset);
    preset_->setToolTip(tr("A named architecture, or \"custom\" to edit the layers freely"));
    hidden_->setPlaceholderText(tr("e.g. 128 or 800, 800"));
    hidden_->setToolTip(tr("Widths of the hidden layers of the mlp preset, separated by commas"));
    hidden_->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("[0-9, ]*")), hidden_));

    table_->setHorizontalHeaderLabels({tr("Layer"), tr("Out"), tr("Kernel"), tr("Stride"), tr("p"), tr("Output"), tr("Params"), tr("Tap")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setMinimumHeight(150);
    table_->setToolTip(tr("Edit a cell to change a layer; the model then becomes \"custom\""));

    auto button = [this](const QString &text, const QString &tip) {
        auto *b = new QToolButton(this);
        b->setText(text);
        b->setToolTip(tip);
        return b;
    };
    auto *add = button(tr("+"), tr("Add a layer after the selected one"));
    auto *remove = button(tr("−"), tr("Remove the selected layer"));
    auto *up = button(tr("↑"), tr("Move the selected layer up"));
    auto *down = button(tr("↓"), tr("Move the selected layer down"));

    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #c62828;"));
    error_->hide();

    auto *top = new QHBoxLayout;
    auto *presetLabel = new QLabel(tr("Model"), this);
    presetLabel->setBuddy(preset_);
    top->addWidget(presetLabel);
    top->addWidget(preset_, 1);
    top->addWidget(hiddenLabel_);
    top->addWidget(hidden_, 1);
    // The table is for those who design layers; most pick a preset and need
    // only its cost, so it stays folded to that line until asked for.
    auto *tablePart = new QWidget;
    auto *buttons = new QHBoxLayout;
    for (auto *b : {add, remove, up, down})
        buttons->addWidget(b);
    buttons->addStretch();
    auto *tableLayout = new QVBoxLayout(tablePart);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addWidget(table_);
    tableLayout->addLayout(buttons);
    table_->setParent(tablePart);
    layers_->setContent(tablePart);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(top);
    layout->addWidget(layers_);
    layout->addWidget(error_);

    connect(preset_, qOverload<int>(&QComboBox::currentIndexChanged), this, &ModelEditor::presetChosen);
    connect(hidden_, &QLineEdit::textEdited, this, &ModelEditor::presetChosen);
    connect(table_, &QTableWidget::itemChanged, this, &ModelEditor::tableEdited);
    connect(add, &QToolButton::clicked, this, &ModelEditor::addLayer);
    connect(remove, &QToolButton::clicked, this, &ModelEditor::removeLayer);
    connect(up, &QToolButton::clicked, this, [this] { moveLayer(-1); });
    connect(down, &QToolButton::clicked, this, [this] { moveLayer(1); });
    presetChosen();
}

void ModelEditor::setModel(const ModelSpec &model)
{
    filling_ = true;
    dropout_ = model.dropout;
    QStringList widths;
    for (auto h : model.hidden)
        widths << QString::number(h);
    hidden_->setText(widths.join(QStringLiteral(", ")));
    const QString name = model.layers.empty() && !model.preset.empty() ? QString::fromStdString(model.preset) : customPreset;
    preset_->setCurrentIndex(std::max(0, preset_->findText(name)));
    filling_ = false;
    if (name == customPreset)
        fillTable(model.layers);
    else
        presetChosen();
}

ModelSpec ModelEditor::model() const
{
    ModelSpec m;
    if (preset_->currentText() == customPreset) {
        m.layers = tableLayers();
        return m;
    }
    m.preset = preset_->currentText().toStdString();
    m.dropout = dropout_;
    if (m.preset == "mlp")
        for (const QString &w : hidden_->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
            if (w.trimmed().toLongLong() > 0)
                m.hidden.push_back(w.trimmed().toLongLong());
    return m;
}

void ModelEditor::setDataShape(const distillery::Shape &input, int classes)
{
    input_ = input;
    classes_ = classes;
    if (preset_->currentText() != customPreset)
        presetChosen(); // presets end in one output per class
    else
        analyse();
}

QString ModelEditor::problem() const
{
    return report_.ok || input_.empty() ? QString() : QString::fromStdString(report_.error);
}

void ModelEditor::presetChosen()
{
    if (filling_)
        return;
    const bool custom = preset_->currentText() == customPreset;
    const bool mlp = preset_->currentText() == QLatin1String("mlp");
    hidden_->setVisible(mlp);
    hiddenLabel_->setVisible(mlp);
    if (!custom) {
        try {
            fillTable(expandPreset(model(), classes_ > 0 ? classes_ : 10));
        } catch (const ConfigError &) {
            fillTable({});
        }
    } else {
        analyse();
    }
}

void ModelEditor::fillTable(const Architecture &layers)
{
    filling_ = true;
    table_->setRowCount(int(layers.size()));
    for (int r = 0; r < int(layers.size()); ++r) {
        const LayerSpec &l = layers[std::size_t(r)];
        auto *type = new QComboBox(table_);
        for (const auto &t : layerTypes())
            type->addItem(QString::fromStdString(t));
        type->setCurrentText(QString::fromStdString(l.type));
        connect(type, &QComboBox::currentTextChanged, this, &ModelEditor::tableEdited);
        table_->setCellWidget(r, Type, type);
        auto number = [](double v, bool used) { return used ? new QTableWidgetItem(QString::number(v)) : new QTableWidgetItem(); };
        const bool hasOut = l.type == "linear" || l.type == "conv2d" || l.type == "residual";
        const bool hasKernel = l.type == "conv2d" || l.type == "maxpool" || l.type == "avgpool";
        const bool hasStride = hasKernel || l.type == "residual";
        table_->setItem(r, Out, number(double(l.out), hasOut));
        table_->setItem(r, Kernel, number(l.kernel, hasKernel && l.kernel));
        table_->setItem(r, Stride, number(l.stride, hasStride && l.stride));
        table_->setItem(r, P, number(l.p, l.type == "dropout"));
        auto *tap = new QTableWidgetItem(QString::fromStdString(l.tap));
        tap->setToolTip(tr("A name for this layer's output, which feature methods can pair (Distillation ▸ Pairs). "
                           "Every model also has stage1…, pool1… and embedding where its layers allow."));
        table_->setItem(r, TapName, tap);
        for (int c : {OutputShape, Params}) {
            auto *item = new QTableWidgetItem;
            item->setFlags(Qt::ItemIsEnabled);
            table_->setItem(r, c, item);
        }
    }
    filling_ = false;
    analyse();
}

Architecture ModelEditor::tableLayers() const
{
    Architecture layers;
    for (int r = 0; r < table_->rowCount(); ++r) {
        LayerSpec l;
        if (auto *type = qobject_cast<QComboBox *>(table_->cellWidget(r, Type)))
            l.type = type->currentText().toStdString();
        auto value = [&](int c) { return table_->item(r, c) ? table_->item(r, c)->text().trimmed() : QString(); };
        l.out = value(Out).toLongLong();
        l.kernel = value(Kernel).toInt();
        l.stride = value(Stride).toInt();
        if (!value(P).isEmpty())
            l.p = value(P).toDouble();
        l.tap = value(TapName).toStdString();
        layers.push_back(l);
    }
    return layers;
}

void ModelEditor::tableEdited()
{
    if (filling_)
        return;
    if (preset_->currentText() != customPreset) {
        const QSignalBlocker block(preset_);
        preset_->setCurrentText(customPreset);
        hidden_->hide();
        hiddenLabel_->hide();
    }
    analyse();
}

void ModelEditor::addLayer()
{
    Architecture layers = tableLayers();
    const int at = table_->currentRow() >= 0 ? table_->currentRow() + 1 : int(layers.size());
    LayerSpec relu;
    relu.type = "relu";
    layers.insert(layers.begin() + at, relu);
    const QSignalBlocker block(preset_);
    preset_->setCurrentText(customPreset);
    fillTable(layers);
    table_->selectRow(at);
}

void ModelEditor::removeLayer()
{
    const int row = table_->currentRow();
    if (row < 0)
        return;
    Architecture layers = tableLayers();
    layers.erase(layers.begin() + row);
    const QSignalBlocker block(preset_);
    preset_->setCurrentText(customPreset);
    fillTable(layers);
}

void ModelEditor::moveLayer(int delta)
{
    const int row = table_->currentRow();
    Architecture layers = tableLayers();
    if (row < 0 || row + delta < 0 || row + delta >= int(layers.size()))
        return;
    std::swap(layers[std::size_t(row)], layers[std::size_t(row + delta)]);
    const QSignalBlocker block(preset_);
    preset_->setCurrentText(customPreset);
    fillTable(layers);
    table_->selectRow(row + delta);
}

void ModelEditor::analyse()
{
    const Architecture layers = tableLayers();
    filling_ = true;
    if (input_.empty()) {
        report_ = ArchitectureReport{};
        layers_->setSummary(tr("%n layer(s); shapes are checked once the data set is loaded", nullptr, int(layers.size())));
        error_->hide();
    } else {
        report_ = analyseArchitecture(layers, input_, classes_);
        for (int r = 0; r < table_->rowCount(); ++r) {
            const bool known = r < int(report_.layers.size());
            const auto &lr = known ? report_.layers[std::size_t(r)] : LayerReport{};
            table_->item(r, OutputShape)->setText(known ? QString::fromStdString(shapeToString(lr.output)) : QString());
            table_->item(r, Params)->setText(known ? fmt::count(double(lr.parameters)) : QString());
            for (int c = 0; c < ColumnCount; ++c)
                if (auto *item = table_->item(r, c))
                    item->setBackground(r == report_.errorLayer ? QColor(198, 40, 40, 60) : QBrush());
        }
        layers_->setSummary(summary());
        layers_->toggleButton()->setToolTip(tr("%n layer(s), input %1 → output %2; %3 parameters, %4 multiply-adds "
                                               "per sample. Click to show or fold the layer table.", nullptr,
                                               int(layers.size()))
                                                .arg(QString::fromStdString(shapeToString(input_)),
                                                     QString::fromStdString(shapeToString(report_.output)))
                                                .arg(report_.parameters)
                                                .arg(report_.multiplyAdds));
        error_->setText(QString::fromStdString(report_.error));
        error_->setVisible(!report_.ok);
        if (!report_.ok)
            layers_->setOpen(true); // the wrong layer is marked in the table

    }
    filling_ = false;
    Q_EMIT changed();
}

QString ModelEditor::summary() const
{
    if (input_.empty())
        return layers_->summary();
    if (!report_.ok)
        return tr("%n layer(s) · does not fit the data", nullptr, table_->rowCount());
    return tr("%1 parameters · %2 multiply-adds · output %3")
        .arg(fmt::count(double(report_.parameters)), fmt::count(double(report_.multiplyAdds)),
             QString::fromStdString(shapeToString(report_.output)));
}
