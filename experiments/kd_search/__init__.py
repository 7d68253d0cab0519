"""Which regime lets distillation and self-distillation transfer views (the separated preset)?"""
