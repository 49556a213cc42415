#include "scheduleeditor.h"

#include "foldsection.h"

#include "distillery/methods.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

using namespace distillery;

namespace {

enum Column { SettingColumn, ShapeColumn, FromColumn, ToColumn, StartColumn, EndColumn, ColumnCount };

QDoubleSpinBox *numberBox(double value, double min, double max, int decimals, QWidget *parent)
{
    auto *box = new QDoubleSpinBox(parent);
    box->setRange(min, max);
    box->setDecimals(decimals);
    box->setValue(value);
    box->setButtonSymbols(QAbstractSpinBox::NoButtons);
    return box;
}

} // namespace

ScheduleEditor::ScheduleEditor(QWidget *parent) : QWidget(parent)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    section_ = new FoldSection(this);
    outer->addWidget(section_);
    auto *content = new QWidget;
    auto *layout = new QVBoxLayout(content);
    layout->setContentsMargins(0, 0, 0, 0);
    table_ = new QTableWidget(0, ColumnCount, content);
    table_->setHorizontalHeaderLabels({tr("Setting"), tr("Shape"), tr("From"), tr("To"), tr("Start"), tr("End")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setToolTip(tr("A setting goes from From to To between epochs Start and End of the student's stage (End 0: "
                          "its last epoch): linearly, along a half cosine, or at once at Start (step)."));
    add_ = new QPushButton(tr("Add schedule"), content);
    remove_ = new QPushButton(tr("Remove schedule"), content);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(add_);
    buttons->addWidget(remove_);
    buttons->addStretch();
    layout->addWidget(table_);
    layout->addLayout(buttons);
    section_->setContent(content);
    connect(add_, &QPushButton::clicked, this, [this] {
        const auto keys = adjustableSettings(config_);
        const auto taken = schedules();
        for (const auto &k : keys)
            if (!taken.count(k)) {
                const double v = distillSetting(config_, k);
                ValueSchedule s;
                s.from = s.to = v;
                addRow(k, s);
                break;
            }
        summarise();
        Q_EMIT changed();
    });
    connect(remove_, &QPushButton::clicked, this, [this] {
        if (table_->currentRow() >= 0)
            table_->removeRow(table_->currentRow());
        summarise();
        Q_EMIT changed();
    });
    summarise();
}

void ScheduleEditor::setSettings(const DistillConfig &config)
{
    const auto kept = schedules();
    config_ = config;
    setSchedules(kept);
}

void ScheduleEditor::setSchedules(const std::map<std::string, ValueSchedule> &schedules)
{
    filling_ = true;
    table_->setRowCount(0);
    const auto keys = adjustableSettings(config_);
    for (const auto &[key, s] : schedules)
        if (std::find(keys.begin(), keys.end(), key) != keys.end())
            addRow(key, s);
    filling_ = false;
    summarise();
}

void ScheduleEditor::addRow(const std::string &key, const ValueSchedule &s)
{
    const int r = table_->rowCount();
    table_->insertRow(r);
    auto *setting = new QComboBox(table_);
    for (const auto &k : adjustableSettings(config_))
        setting->addItem(QString::fromStdString(k), QString::fromStdString(k));
    setting->setCurrentIndex(setting->findData(QString::fromStdString(key)));
    auto *shape = new QComboBox(table_);
    for (const char *name : {"constant", "linear", "cosine", "step"})
        shape->addItem(QString::fromLatin1(name), QString::fromLatin1(name));
    shape->setCurrentIndex(std::max(0, shape->findData(QString::fromStdString(s.shape))));
    table_->setCellWidget(r, SettingColumn, setting);
    table_->setCellWidget(r, ShapeColumn, shape);
    table_->setCellWidget(r, FromColumn, numberBox(s.from, 0.0, 1e5, 3, table_));
    table_->setCellWidget(r, ToColumn, numberBox(s.to, 0.0, 1e5, 3, table_));
    table_->setCellWidget(r, StartColumn, numberBox(s.start, 0.0, 1e4, 2, table_));
    table_->setCellWidget(r, EndColumn, numberBox(s.end, 0.0, 1e4, 2, table_));
    const auto edited = [this] {
        if (!filling_) {
            summarise();
            Q_EMIT changed();
        }
    };
    for (auto *box : {setting, shape})
        connect(box, qOverload<int>(&QComboBox::currentIndexChanged), this, edited);
    for (int c : {FromColumn, ToColumn, StartColumn, EndColumn})
        connect(qobject_cast<QDoubleSpinBox *>(table_->cellWidget(r, c)), qOverload<double>(&QDoubleSpinBox::valueChanged),
                this, edited);
}

std::map<std::string, ValueSchedule> ScheduleEditor::schedules() const
{
    std::map<std::string, ValueSchedule> out;
    const auto number = [this](int r, int c) { return qobject_cast<QDoubleSpinBox *>(table_->cellWidget(r, c))->value(); };
    for (int r = 0; r < table_->rowCount(); ++r) {
        const auto text = [&](int c) {
            return qobject_cast<QComboBox *>(table_->cellWidget(r, c))->currentData().toString().toStdString();
        };
        ValueSchedule v;
        v.shape = text(ShapeColumn);
        v.from = number(r, FromColumn);
        v.to = number(r, ToColumn);
        v.start = number(r, StartColumn);
        v.end = number(r, EndColumn);
        out[text(SettingColumn)] = v;
    }
    return out;
}

void ScheduleEditor::summarise()
{
    QStringList parts;
    for (const auto &[key, s] : schedules())
        parts << tr("%1 %2 → %3").arg(QString::fromStdString(key)).arg(s.from).arg(s.to);
    section_->setSummary(parts.isEmpty() ? tr("Schedules: none, every setting fixed")
                                         : tr("Schedules: %1").arg(parts.join(QStringLiteral(", "))));
    remove_->setEnabled(table_->rowCount() > 0);
    add_->setEnabled(table_->rowCount() < int(adjustableSettings(config_).size()));
}
