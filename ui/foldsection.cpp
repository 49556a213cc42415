#include "foldsection.h"

#include <QToolButton>
#include <QVBoxLayout>

FoldSection::FoldSection(QWidget *parent) : QWidget(parent), toggle_(new QToolButton(this)), layout_(new QVBoxLayout(this))
{
    toggle_->setCheckable(true);
    toggle_->setAutoRaise(true);
    toggle_->setArrowType(Qt::RightArrow);
    toggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    // The summary may be longer than the panel is wide: the button may shrink
    // (the full line is in its tool tip) rather than widen the panel.
    toggle_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
    layout_->setContentsMargins(0, 0, 0, 0);
    layout_->setSpacing(2);
    layout_->addWidget(toggle_);
    connect(toggle_, &QToolButton::toggled, this, [this](bool open) {
        toggle_->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        if (content_)
            content_->setVisible(open);
        Q_EMIT toggled(open);
    });
}

void FoldSection::setContent(QWidget *content)
{
    delete content_;
    content_ = content;
    layout_->addWidget(content_);
    content_->setVisible(toggle_->isChecked());
}

void FoldSection::setSummary(const QString &text)
{
    toggle_->setText(text);
    toggle_->setToolTip(text);
}

QString FoldSection::summary() const
{
    return toggle_->text();
}

void FoldSection::setOpen(bool open)
{
    toggle_->setChecked(open);
}

bool FoldSection::isOpen() const
{
    return toggle_->isChecked();
}
