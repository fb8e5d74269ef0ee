"""A faithful reproduction of the lab's template code (model.py, utils.py, train.py), for comparison.

Used by the tests (its state_dicts must load into ganlib's networks and give identical outputs)
and by ``bench_training.py`` (its training loop is the baseline ganlib's loop is measured against).
Kept as the template wrote it: sigmoid + BCELoss, separate real/fake passes, a DataLoader with
per-sample ``ToTensor()`` + ``Normalize``, gradients flowing into G during the D step.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    def __init__(self, g_output_dim):
        super(Generator, self).__init__()
        self.fc1 = nn.Linear(100, 256)
        self.fc2 = nn.Linear(self.fc1.out_features, self.fc1.out_features * 2)
        self.fc3 = nn.Linear(self.fc2.out_features, self.fc2.out_features * 2)
        self.fc4 = nn.Linear(self.fc3.out_features, g_output_dim)

    def forward(self, x):
        x = F.leaky_relu(self.fc1(x), 0.2)
        x = F.leaky_relu(self.fc2(x), 0.2)
        x = F.leaky_relu(self.fc3(x), 0.2)
        return torch.tanh(self.fc4(x))


class Discriminator(nn.Module):
    def __init__(self, d_input_dim):
        super(Discriminator, self).__init__()
        self.fc1 = nn.Linear(d_input_dim, 1024)
        self.fc2 = nn.Linear(self.fc1.out_features, self.fc1.out_features // 2)
        self.fc3 = nn.Linear(self.fc2.out_features, self.fc2.out_features // 2)
        self.fc4 = nn.Linear(self.fc3.out_features, 1)

    def forward(self, x):
        x = F.leaky_relu(self.fc1(x), 0.2)
        x = F.leaky_relu(self.fc2(x), 0.2)
        x = F.leaky_relu(self.fc3(x), 0.2)
        return torch.sigmoid(self.fc4(x))


def D_train(x, G, D, D_optimizer, criterion, device):
    D.zero_grad()
    x_real, y_real = x, torch.ones(x.shape[0], 1)
    x_real, y_real = x_real.to(device), y_real.to(device)
    D_output = D(x_real)
    D_real_loss = criterion(D_output, y_real)
    z = torch.randn(x.shape[0], 100).to(device)
    x_fake, y_fake = G(z), torch.zeros(x.shape[0], 1).to(device)
    D_output = D(x_fake)
    D_fake_loss = criterion(D_output, y_fake)
    D_loss = D_real_loss + D_fake_loss
    D_loss.backward()
    D_optimizer.step()
    return D_loss.data.item()


def G_train(x, G, D, G_optimizer, criterion, device):
    G.zero_grad()
    z = torch.randn(x.shape[0], 100).to(device)
    y = torch.ones(x.shape[0], 1).to(device)
    G_output = G(z)
    D_output = D(G_output)
    G_loss = criterion(D_output, y)
    G_loss.backward()
    G_optimizer.step()
    return G_loss.data.item()
