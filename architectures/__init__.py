"""Built-in architecture plugins: rnn, gru, lstm, bilstm."""
